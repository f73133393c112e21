//! Forms the offices exchange, as .xlsx laid out like the official ones: Mẫu số 3 (people whose
//! information needs correcting or who need support) and Mẫu số 4 (people to add to the lists).

use rust_xlsxwriter::{Format, FormatAlign, Workbook};

use bdtx_store::requests::Request;

fn status_vi(r: &Request) -> &'static str {
    match r.status.as_str() {
        "resolved" => "Đã xử lý",
        "rejected" => "Không chấp nhận",
        _ if r.late() => "Quá hạn",
        _ => "Chờ xử lý",
    }
}

/// What came of a request: the answer given, and for a rejection its reason, named as such.
fn result_vi(r: &Request) -> String {
    let text = r.resolution.as_deref().unwrap_or("").trim();
    match r.status.as_str() {
        "rejected" if !text.is_empty() => format!("Lý do không chấp nhận: {text}"),
        "resolved" if text.is_empty() && r.kind == "addition" => "Đã bổ sung vào danh sách".into(),
        _ => text.to_string(),
    }
}

/// The form as an .xlsx laid out like the official one: national motto, form number, title,
/// table, and the signature block.
pub fn form_xlsx(kind: &str, unit_name: &str, rows: &[Request]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let addition = kind == "addition";
    let headings: &[&str] = if addition {
        &[
            "STT",
            "Họ và tên",
            "Ngày sinh",
            "Giới tính",
            "Số CCCD",
            "Điện thoại",
            "Email",
            "Chức vụ",
            "Cấp học",
            "Môn dạy",
            "Đơn vị",
            "Lý do",
            "Hạn",
            "Tình trạng",
            "Kết quả xử lý",
        ]
    } else {
        &["STT", "Họ và tên", "Đơn vị", "Nội dung cần điều chỉnh/hỗ trợ", "Hạn", "Tình trạng", "Kết quả xử lý"]
    };
    let last = (headings.len() - 1) as u16;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(if addition { "Mẫu số 4" } else { "Mẫu số 3" })?;
    let bold = Format::new().set_bold();
    let center_bold = Format::new().set_bold().set_align(FormatAlign::Center);
    let center_italic = Format::new().set_italic().set_align(FormatAlign::Center);
    let head = Format::new()
        .set_bold()
        .set_border(rust_xlsxwriter::FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::Center);
    let cell = Format::new().set_border(rust_xlsxwriter::FormatBorder::Thin).set_text_wrap();
    ws.write_string_with_format(0, last, if addition { "Mẫu số 4" } else { "Mẫu số 3" }, &bold)?;
    ws.merge_range(1, 0, 1, 2, &unit_name.to_uppercase(), &center_bold)?;
    ws.merge_range(1, 3, 1, last, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center_bold)?;
    ws.merge_range(2, 3, 2, last, "Độc lập - Tự do - Hạnh phúc", &center_bold)?;
    let title = if addition {
        "DANH SÁCH CBQL/GV ĐỀ NGHỊ ĐƯỢC BỔ SUNG TRONG DANH SÁCH BỒI DƯỠNG"
    } else {
        "BÁO CÁO DANH SÁCH CBQL, GV CẦN ĐƯỢC ĐIỀU CHỈNH THÔNG TIN/HỖ TRỢ KHI THAM GIA BỒI DƯỠNG"
    };
    ws.merge_range(4, 0, 4, last, title, &center_bold)?;
    for (c, h) in headings.iter().enumerate() {
        ws.write_string_with_format(6, c as u16, *h, &head)?;
    }
    ws.set_column_width(1, 26)?;
    ws.set_column_width(if addition { 11 } else { 3 }, 40)?;
    ws.set_column_width(last, 30)?;
    let mut row = 7u32;
    for (i, r) in rows.iter().enumerate() {
        let cells: Vec<String> = if addition {
            let f = r.proposed();
            let g = |x: Option<String>| x.unwrap_or_default();
            vec![
                (i + 1).to_string(),
                f.as_ref().map(|f| f.full_name.clone()).unwrap_or_default(),
                f.as_ref().and_then(|f| f.birth_date).map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default(),
                match f.as_ref().and_then(|f| f.gender.clone()).as_deref() {
                    Some("M") => "Nam".into(),
                    Some("F") => "Nữ".into(),
                    _ => String::new(),
                },
                g(f.as_ref().and_then(|f| f.national_id.clone())),
                g(f.as_ref().and_then(|f| f.phone.clone())),
                g(f.as_ref().and_then(|f| f.email.clone())),
                f.as_ref().map(|f| crate::export::position_vi(f.position.as_str()).to_string()).unwrap_or_default(),
                f.as_ref().map(|f| f.levels_string()).unwrap_or_default(),
                g(f.as_ref().and_then(|f| f.main_subject.clone())),
                r.from_unit.clone(),
                r.note.clone(),
                r.deadline.as_deref().map(bdtx_domain::dates::show).unwrap_or_default(),
                status_vi(r).into(),
                result_vi(r),
            ]
        } else {
            let name = serde_json::from_str::<serde_json::Value>(&r.data)
                .ok()
                .and_then(|v| v["full_name"].as_str().map(String::from))
                .unwrap_or_default();
            vec![
                (i + 1).to_string(),
                name,
                r.from_unit.clone(),
                r.note.clone(),
                r.deadline.as_deref().map(bdtx_domain::dates::show).unwrap_or_default(),
                status_vi(r).into(),
                result_vi(r),
            ]
        };
        for (c, v) in cells.iter().enumerate() {
            // Always text: nothing typed into a request can become a formula.
            ws.write_string_with_format(row, c as u16, v, &cell)?;
        }
        row += 1;
    }
    row += 2;
    let today = bdtx_domain::dates::today();
    let dated = format!("…………, ngày {} tháng {} năm {}", today.format("%d"), today.format("%m"), today.format("%Y"));
    ws.merge_range(row, last.saturating_sub(3), row, last, &dated, &center_italic)?;
    ws.merge_range(row + 1, last.saturating_sub(3), row + 1, last, "THỦ TRƯỞNG ĐƠN VỊ", &center_bold)?;
    ws.merge_range(row + 2, last.saturating_sub(3), row + 2, last, "(Ký, ghi rõ họ tên, đóng dấu)", &center_italic)?;
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_forms_render_even_when_empty() {
        for kind in ["correction", "addition"] {
            let bytes = super::form_xlsx(kind, "Trường Tiểu học Kim Đông", &[]).unwrap();
            assert!(bytes.starts_with(b"PK"));
        }
    }
}

/// A titled list as .xlsx: the unit's name and the national motto, a title, a table (every
/// cell written as text, so nothing is ever a formula), and the signature block.
pub fn list_xlsx(
    sheet: &str,
    unit_name: &str,
    title: &str,
    headings: &[&str],
    rows: &[Vec<String>],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let last = (headings.len().max(4) - 1) as u16;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet)?;
    let center_bold = Format::new().set_bold().set_align(FormatAlign::Center);
    let head = Format::new()
        .set_bold()
        .set_border(rust_xlsxwriter::FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::Center);
    let cell = Format::new().set_border(rust_xlsxwriter::FormatBorder::Thin).set_text_wrap();
    ws.merge_range(0, 0, 0, 1, &unit_name.to_uppercase(), &center_bold)?;
    ws.merge_range(0, 2, 0, last, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center_bold)?;
    ws.merge_range(1, 2, 1, last, "Độc lập - Tự do - Hạnh phúc", &center_bold)?;
    ws.merge_range(3, 0, 3, last, title, &center_bold)?;
    for (c, h) in headings.iter().enumerate() {
        ws.write_string_with_format(5, c as u16, *h, &head)?;
        ws.set_column_width(c as u16, if c == 0 { 6 } else { 22 })?;
    }
    for (i, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string_with_format(6 + i as u32, c as u16, v, &cell)?;
        }
    }
    let end = 6 + rows.len() as u32 + 1;
    ws.merge_range(end, last.saturating_sub(2), end, last, "NGƯỜI LẬP BIỂU", &center_bold)?;
    wb.save_to_buffer()
}

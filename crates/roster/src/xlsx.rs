//! A streaming .xlsx writer for tables of text: each sheet's XML goes straight into its zip
//! entry, compressed on a second thread while rows arrive, so memory stays constant whatever the
//! size and the compression overlaps with reading and formatting. Sheets split past Excel's row
//! limit (each starts with the headings again, in bold), the second column is widened and the
//! heading row is frozen. Every cell is an inline string, so nothing is ever a formula.
//!
//! The zip container is the `zip` crate's; this module writes the few SpreadsheetML parts a
//! workbook needs: `[Content_Types].xml`, `_rels/.rels`, `docProps/app.xml`, `docProps/core.xml`,
//! `xl/workbook.xml` and its relationships, `xl/styles.xml` and one `xl/worksheets/sheetN.xml`
//! per sheet. The sheets come first in the zip (they are streamed), the parts that list them
//! after; readers go by the zip's central directory, so the order does not matter to them.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use zip::write::SimpleFileOptions;

/// Excel's row limit, header included.
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;

/// Sheet XML is handed to the compressing thread in chunks of about this size; at most
/// `QUEUE` chunks wait, so memory is bounded whatever the number of rows.
const CHUNK: usize = 256 * 1024;
const QUEUE: usize = 4;

/// Deflate level of the sheets. Level 1 (zlib-rs's quick strategy) deflates this repetitive XML
/// about 5× faster than the default 6, for a file about 1.5× as large (1M roster rows: 166 MB
/// against 106 MB; level 2 gives 128 MB for about 3 s more CPU). See bench/README.md.
const LEVEL: i64 = 1;

/// Width of the second column (the names), in characters, as Excel stores it for a width of 28.
const NAME_COLUMN_WIDTH: &str = "28.7109375";

enum Msg {
    /// Start a new zip entry (the previous one is finished).
    Entry(String),
    Data(Vec<u8>),
}

/// An .xlsx table written row by row in constant memory. Create it with the output path, `push`
/// rows, then `finish`. Dropped unfinished (an error on the way), it removes its file.
pub struct StreamingXlsx {
    path: PathBuf,
    name: String,
    headings: Vec<String>,
    columns: Vec<Vec<u8>>,
    max_rows: u32,
    /// Sheets started so far (the current one is the last).
    sheets: usize,
    /// Rows of the current sheet, the heading row included.
    row: u32,
    buf: Vec<u8>,
    tx: Option<SyncSender<Msg>>,
    spare: Receiver<Vec<u8>>,
    zipper: Option<JoinHandle<io::Result<()>>>,
    finished: bool,
}

impl StreamingXlsx {
    /// Create `path` with a first sheet called `name` holding the headings.
    pub fn create(path: &Path, name: &str, headings: &[&str]) -> io::Result<StreamingXlsx> {
        Self::create_with_limit(path, name, headings, EXCEL_MAX_ROWS)
    }

    /// As `create`, with sheets split after `max_rows` rows (heading row included); for tests.
    pub fn create_with_limit(path: &Path, name: &str, headings: &[&str], max_rows: u32) -> io::Result<StreamingXlsx> {
        assert!(max_rows >= 2, "a sheet holds the headings and at least one row");
        let file = File::create(path)?;
        let (tx, rx) = sync_channel::<Msg>(QUEUE);
        let (spare_tx, spare) = sync_channel::<Vec<u8>>(QUEUE + 2);
        let zipper =
            std::thread::Builder::new().name("xlsx-zip".into()).spawn(move || zip_entries(file, rx, spare_tx))?;
        let mut me = StreamingXlsx {
            path: path.to_path_buf(),
            name: name.to_string(),
            headings: headings.iter().map(|h| h.to_string()).collect(),
            columns: (0..headings.len()).map(column_name).collect(),
            max_rows,
            sheets: 0,
            row: 0,
            buf: Vec::with_capacity(CHUNK + 64 * 1024),
            tx: Some(tx),
            spare,
            zipper: Some(zipper),
            finished: false,
        };
        me.new_sheet()?;
        Ok(me)
    }

    /// Append a row; empty cells are left out. Cells past the headings' count are ignored.
    pub fn push<S: AsRef<str>>(&mut self, cells: &[S]) -> io::Result<()> {
        if self.row >= self.max_rows {
            self.end_sheet()?;
            self.new_sheet()?;
        }
        self.row += 1;
        self.write_row(cells, false);
        if self.buf.len() >= CHUNK {
            self.flush_chunk()?;
        }
        Ok(())
    }

    /// Write the workbook parts that list the sheets and close the file.
    pub fn finish(mut self) -> io::Result<()> {
        self.end_sheet()?;
        let sheets: Vec<String> = (0..self.sheets).map(|i| self.sheet_name(i)).collect();
        self.part("xl/workbook.xml", workbook_xml(&sheets).as_bytes())?;
        self.part("xl/_rels/workbook.xml.rels", workbook_rels(sheets.len()).as_bytes())?;
        self.part("xl/styles.xml", STYLES.as_bytes())?;
        self.part("docProps/app.xml", app_xml(&sheets).as_bytes())?;
        self.part("docProps/core.xml", core_xml().as_bytes())?;
        self.part("_rels/.rels", ROOT_RELS.as_bytes())?;
        self.part("[Content_Types].xml", content_types(sheets.len()).as_bytes())?;
        let closed = self.close();
        // A file the zip writer could not finish is removed like any unfinished one.
        self.finished = closed.is_ok();
        closed
    }

    /// Sheets written so far.
    pub fn sheets(&self) -> usize {
        self.sheets
    }

    fn sheet_name(&self, i: usize) -> String {
        // Excel allows 31 characters; "Name (12)" keeps its number when the name is long.
        let suffix = if i == 0 { String::new() } else { format!(" ({})", i + 1) };
        let keep = 31usize.saturating_sub(suffix.chars().count());
        let base: String = self.name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(keep).collect();
        format!("{base}{suffix}")
    }

    fn new_sheet(&mut self) -> io::Result<()> {
        self.sheets += 1;
        self.send(Msg::Entry(format!("xl/worksheets/sheet{}.xml", self.sheets)))?;
        let selected = if self.sheets == 1 { " tabSelected=\"1\"" } else { "" };
        write!(
            self.buf,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <worksheet xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\">\
             <sheetViews><sheetView{selected} workbookViewId=\"0\">\
             <pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>\
             <selection pane=\"bottomLeft\"/></sheetView></sheetViews>\
             <sheetFormatPr defaultRowHeight=\"15\"/>\
             <cols><col min=\"2\" max=\"2\" width=\"{NAME_COLUMN_WIDTH}\" customWidth=\"1\"/></cols><sheetData>"
        )?;
        self.row = 1;
        let headings = std::mem::take(&mut self.headings);
        self.write_row(&headings, true);
        self.headings = headings;
        Ok(())
    }

    fn end_sheet(&mut self) -> io::Result<()> {
        self.buf.extend_from_slice(
            b"</sheetData><pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" \
              header=\"0.3\" footer=\"0.3\"/></worksheet>",
        );
        self.flush_chunk()
    }

    fn write_row<S: AsRef<str>>(&mut self, cells: &[S], bold: bool) {
        let mut num = [0u8; 10];
        let num = decimal(self.row, &mut num);
        let b = &mut self.buf;
        b.extend_from_slice(b"<row r=\"");
        b.extend_from_slice(num);
        b.extend_from_slice(b"\">");
        for (col, v) in self.columns.iter().zip(cells) {
            let v = v.as_ref();
            if v.is_empty() {
                continue;
            }
            b.extend_from_slice(b"<c r=\"");
            b.extend_from_slice(col);
            b.extend_from_slice(num);
            b.extend_from_slice(if bold {
                &b"\" s=\"1\" t=\"inlineStr\"><is><t"[..]
            } else {
                b"\" t=\"inlineStr\"><is><t"
            });
            if v.starts_with(['\t', '\n', ' ']) || v.ends_with(['\t', '\n', ' ']) {
                b.extend_from_slice(b" xml:space=\"preserve\"");
            }
            b.push(b'>');
            escape_text(b, v);
            b.extend_from_slice(b"</t></is></c>");
        }
        b.extend_from_slice(b"</row>");
    }

    fn part(&mut self, name: &str, content: &[u8]) -> io::Result<()> {
        self.send(Msg::Entry(name.to_string()))?;
        self.buf.extend_from_slice(content);
        self.flush_chunk()
    }

    fn flush_chunk(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK + 64 * 1024));
        let full = std::mem::replace(&mut self.buf, next);
        self.send(Msg::Data(full))
    }

    fn send(&mut self, m: Msg) -> io::Result<()> {
        let sent = self.tx.as_ref().map(|tx| tx.send(m).is_ok()).unwrap_or(false);
        if sent {
            return Ok(());
        }
        // The zipping thread stopped: its error says why.
        Err(self.close().err().unwrap_or_else(|| io::Error::other("xlsx: the zip writer stopped")))
    }

    /// Let the zipping thread finish and return its outcome.
    fn close(&mut self) -> io::Result<()> {
        self.tx = None;
        match self.zipper.take() {
            Some(h) => h.join().unwrap_or_else(|_| Err(io::Error::other("xlsx: the zip writer panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for StreamingXlsx {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.close();
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The zipping thread: entries and their data in order, deflated into `file`.
fn zip_entries(file: File, rx: Receiver<Msg>, spare: SyncSender<Vec<u8>>) -> io::Result<()> {
    let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(256 * 1024, file));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(LEVEL))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o600);
    for m in rx {
        match m {
            Msg::Entry(name) => zip.start_file(name, opts).map_err(io::Error::other)?,
            Msg::Data(mut data) => {
                zip.write_all(&data)?;
                data.clear();
                let _ = spare.try_send(data);
            }
        }
    }
    let mut w = zip.finish().map_err(io::Error::other)?;
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error())?.sync_data().or(Ok(()))
}

/// "A", "B", … "Z", "AA", … for a 0-based column.
fn column_name(mut col: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        out.insert(0, b'A' + (col % 26) as u8);
        if col < 26 {
            return out;
        }
        col = col / 26 - 1;
    }
}

fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// XML text as Excel writes it: & < > escaped, control characters as `_xHHHH_`, and a literal
/// `_xHHHH_` protected by escaping its underscore (`_x005F_`), so readers give back the same text.
fn escape_text(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let rep: &[u8] = match c {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\t' | b'\n' => continue,
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                write!(out, "_x{c:04X}_").expect("write to a Vec");
                start = i + 1;
                continue;
            }
            b'_' if bytes.get(i + 1) == Some(&b'x')
                && bytes.get(i + 2..i + 6).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                && bytes.get(i + 6) == Some(&b'_') =>
            {
                b"_x005F_"
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

fn attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn workbook_xml(sheets: &[String]) -> String {
    let mut x = format!(
        "{XML_DECL}<workbook xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\">\
         <bookViews><workbookView xWindow=\"240\" yWindow=\"15\" windowWidth=\"16095\" windowHeight=\"9660\"/></bookViews><sheets>"
    );
    for (i, name) in sheets.iter().enumerate() {
        x += &format!("<sheet name=\"{}\" sheetId=\"{}\" r:id=\"rId{}\"/>", attr(name), i + 1, i + 1);
    }
    x += "</sheets><calcPr calcId=\"124519\" fullCalcOnLoad=\"1\"/></workbook>";
    x
}

fn workbook_rels(sheets: usize) -> String {
    let mut x =
        format!("{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">");
    for i in 1..=sheets {
        x += &format!("<Relationship Id=\"rId{i}\" Type=\"{REL_NS}/worksheet\" Target=\"worksheets/sheet{i}.xml\"/>");
    }
    x += &format!("<Relationship Id=\"rId{}\" Type=\"{REL_NS}/styles\" Target=\"styles.xml\"/>", sheets + 1);
    x += "</Relationships>";
    x
}

fn content_types(sheets: usize) -> String {
    let mut x = format!(
        "{XML_DECL}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
         <Override PartName=\"/docProps/app.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.extended-properties+xml\"/>\
         <Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>\
         <Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>\
         <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
    );
    for i in 1..=sheets {
        x += &format!(
            "<Override PartName=\"/xl/worksheets/sheet{i}.xml\" \
             ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        );
    }
    x += "</Types>";
    x
}

fn app_xml(sheets: &[String]) -> String {
    let mut titles = String::new();
    for s in sheets {
        titles += &format!("<vt:lpstr>{}</vt:lpstr>", attr(s));
    }
    format!(
        "{XML_DECL}<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\" \
         xmlns:vt=\"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes\">\
         <Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>\
         <HeadingPairs><vt:vector size=\"2\" baseType=\"variant\"><vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant>\
         <vt:variant><vt:i4>{n}</vt:i4></vt:variant></vt:vector></HeadingPairs>\
         <TitlesOfParts><vt:vector size=\"{n}\" baseType=\"lpstr\">{titles}</vt:vector></TitlesOfParts>\
         <LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>\
         <AppVersion>12.0000</AppVersion></Properties>",
        n = sheets.len()
    )
}

fn core_xml() -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    format!(
        "{XML_DECL}<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
         xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <dc:creator>BDTX</dc:creator><dcterms:created xsi:type=\"dcterms:W3CDTF\">{now}</dcterms:created>\
         <dcterms:modified xsi:type=\"dcterms:W3CDTF\">{now}</dcterms:modified></cp:coreProperties>"
    )
}

const ROOT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties\" Target=\"docProps/app.xml\"/>\
<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>\
</Relationships>";

/// Calibri 11, and the same in bold for the headings (cell style 1).
const STYLES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
<fonts count=\"2\"><font><sz val=\"11\"/><color theme=\"1\"/><name val=\"Calibri\"/><family val=\"2\"/><scheme val=\"minor\"/></font>\
<font><b/><sz val=\"11\"/><color theme=\"1\"/><name val=\"Calibri\"/><family val=\"2\"/><scheme val=\"minor\"/></font></fonts>\
<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill></fills>\
<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>\
<cellXfs count=\"2\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>\
<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/></cellXfs>\
<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>\
<dxfs count=\"0\"/><tableStyles count=\"0\" defaultTableStyle=\"TableStyleMedium9\" defaultPivotStyle=\"PivotStyleLight16\"/>\
</styleSheet>";

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut v = Vec::new();
        escape_text(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn text_is_escaped_as_excel_does() {
        assert_eq!(escaped("Nguyễn Văn An"), "Nguyễn Văn An");
        assert_eq!(escaped("a<b & c>d"), "a&lt;b &amp; c&gt;d");
        assert_eq!(escaped("x\u{1}y\rz\tw\n"), "x_x0001_y_x000D_z\tw\n");
        assert_eq!(escaped("_x0041_ and _xZZ and _x0041"), "_x005F_x0041_ and _xZZ and _x0041");
        assert_eq!(escaped("=1+1"), "=1+1");
    }

    #[test]
    fn columns_and_numbers() {
        assert_eq!(column_name(0), b"A");
        assert_eq!(column_name(12), b"M");
        assert_eq!(column_name(25), b"Z");
        assert_eq!(column_name(26), b"AA");
        assert_eq!(column_name(27 * 26), b"AAA");
        let mut b = [0; 10];
        assert_eq!(decimal(0, &mut b), b"0");
        assert_eq!(decimal(1_048_576, &mut b), b"1048576");
        assert_eq!(decimal(u32::MAX, &mut b), b"4294967295");
    }

    fn read_back(path: &Path) -> Vec<(String, Vec<Vec<String>>)> {
        use calamine::{Reader, Xlsx, open_workbook};
        let mut wb: Xlsx<_> = open_workbook(path).unwrap();
        let names = wb.sheet_names();
        names
            .into_iter()
            .map(|name| {
                let range = wb.worksheet_range(&name).unwrap();
                let rows = range
                    .rows()
                    .map(|r| {
                        r.iter()
                            .map(|c| match c {
                                calamine::Data::String(s) => s.clone(),
                                calamine::Data::Empty => String::new(),
                                other => panic!("not text: {other:?}"),
                            })
                            .collect()
                    })
                    .collect();
                (name, rows)
            })
            .collect()
    }

    fn part(path: &Path, name: &str) -> String {
        let mut z = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut z.by_name(name).unwrap(), &mut s).unwrap();
        s
    }

    #[test]
    fn sheets_split_with_the_headings_and_text_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut x = StreamingXlsx::create_with_limit(&path, "Danh sách", &["STT", "Họ và tên", "Ghi chú"], 4).unwrap();
        let tricky =
            ["=HYPERLINK(\"http://x\")", "+84 912", "a<b & c>d", "_x0041_", " lề ", "x\u{1}y", "Nguyễn Văn Ấn"];
        let mut rows = Vec::new();
        for i in 0..10 {
            let row = vec![
                (i + 1).to_string(),
                tricky[i % tricky.len()].to_string(),
                if i % 3 == 0 { String::new() } else { "ghi".into() },
            ];
            x.push(&row).unwrap();
            rows.push(row);
        }
        assert_eq!(x.sheets(), 4);
        x.finish().unwrap();
        let sheets = read_back(&path);
        let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Danh sách", "Danh sách (2)", "Danh sách (3)", "Danh sách (4)"]);
        let mut back = Vec::new();
        for (_, sheet) in &sheets {
            assert!(sheet.len() <= 4);
            assert_eq!(sheet[0], ["STT", "Họ và tên", "Ghi chú"]);
            back.extend(sheet[1..].iter().cloned());
        }
        // text comes back as it went in: formulas, markup, escapes, spaces, control characters
        assert_eq!(back, rows);
        // headings bold, names column wide, headings frozen, no formula anywhere
        let sheet1 = part(&path, "xl/worksheets/sheet1.xml");
        assert!(sheet1.contains("<c r=\"A1\" s=\"1\" t=\"inlineStr\">"), "{sheet1}");
        assert!(sheet1.contains("<col min=\"2\" max=\"2\" width=\"28.7109375\" customWidth=\"1\"/>"));
        assert!(sheet1.contains("state=\"frozen\""));
        assert!(!sheet1.contains("<f>") && !sheet1.contains("<f "));
        assert!(part(&path, "xl/styles.xml").contains("<b/>"));
        assert!(part(&path, "[Content_Types].xml").contains("/xl/worksheets/sheet4.xml"));
    }

    #[test]
    fn an_unfinished_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut x = StreamingXlsx::create(&path, "Danh sách", &["A"]).unwrap();
        x.push(&["1"]).unwrap();
        drop(x);
        assert!(!path.exists());
    }
}

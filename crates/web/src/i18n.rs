//! Vietnamese by default, English switchable (cookie `bdtx_lang`). One table of messages; a key
//! missing from it shows as the key itself, which the test below forbids for keys in templates.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn from_cookie(v: Option<&str>) -> Lang {
        match v {
            Some("en") => Lang::En,
            _ => Lang::Vi,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
}

/// The translator handed to every template as `t`.
#[derive(Debug, Clone, Copy, Default)]
pub struct T(pub Lang);

impl T {
    pub fn t(&self, key: &str) -> &'static str {
        match MESSAGES.iter().find(|m| m.0 == key) {
            Some((_, vi, en)) => match self.0 {
                Lang::Vi => vi,
                Lang::En => en,
            },
            None => {
                tracing::warn!(key, "missing translation");
                "?"
            }
        }
    }
    pub fn lang(&self) -> &'static str {
        self.0.code()
    }
    /// Name of a unit kind, role, position or error code: looked up as `prefix.value`.
    pub fn of(&self, prefix: &str, value: &str) -> String {
        let key = format!("{prefix}.{value}");
        match MESSAGES.iter().find(|m| m.0 == key) {
            Some((_, vi, en)) => match self.0 {
                Lang::Vi => vi.to_string(),
                Lang::En => en.to_string(),
            },
            None => value.to_string(),
        }
    }
    pub fn date(&self, iso: &str) -> String {
        bdtx_domain::dates::show(iso)
    }
    pub fn opt_date(&self, iso: &Option<String>) -> String {
        iso.as_deref().map(bdtx_domain::dates::show).unwrap_or_default()
    }
    pub fn instant(&self, unix: &i64) -> String {
        bdtx_domain::dates::show_instant(*unix)
    }
}

/// (key, Vietnamese, English)
pub static MESSAGES: &[(&str, &str, &str)] = &[
    ("app.name", "BDTX – Bồi dưỡng thường xuyên", "BDTX – Continuous professional development"),
    ("app.short", "BDTX", "BDTX"),
    ("nav.home", "Trang chủ", "Home"),
    ("nav.tree", "Cơ cấu tổ chức", "Organisation"),
    ("nav.people", "Nhân sự", "People"),
    ("nav.me", "Hồ sơ của tôi", "My profile"),
    ("nav.audit", "Nhật ký thay đổi", "Audit log"),
    ("nav.catalog", "Danh mục mô đun", "Module catalog"),
    ("nav.api", "API", "API"),
    ("nav.logout", "Đăng xuất", "Log out"),
    ("nav.lang_other", "English", "Tiếng Việt"),
    ("login.title", "Đăng nhập", "Log in"),
    ("login.username", "Tên đăng nhập", "Username"),
    ("login.password", "Mật khẩu", "Password"),
    ("login.submit", "Đăng nhập", "Log in"),
    ("login.bad", "Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."),
    (
        "login.locked",
        "Tài khoản tạm khoá do nhập sai nhiều lần. Vui lòng thử lại sau 15 phút hoặc liên hệ quản trị trường.",
        "Account temporarily locked after too many failed attempts. Try again in 15 minutes or contact your school administrator.",
    ),
    (
        "login.not_activated",
        "Tài khoản chưa kích hoạt. Hãy dùng mã kích hoạt do nhà trường cung cấp.",
        "Account not activated yet. Use the activation code your school gave you.",
    ),
    (
        "login.rate_limited",
        "Quá nhiều lần đăng nhập từ địa chỉ này. Vui lòng đợi một phút.",
        "Too many login attempts from this address. Please wait a minute.",
    ),
    ("login.activate_link", "Kích hoạt tài khoản bằng mã", "Activate an account with a code"),
    ("activate.title", "Kích hoạt tài khoản", "Activate account"),
    ("activate.code", "Mã kích hoạt", "Activation code"),
    ("activate.password", "Mật khẩu mới (ít nhất 8 ký tự)", "New password (at least 8 characters)"),
    ("activate.password2", "Nhập lại mật khẩu", "Repeat password"),
    ("activate.submit", "Kích hoạt", "Activate"),
    ("activate.bad", "Mã kích hoạt không đúng hoặc đã hết hạn.", "The activation code is wrong or expired."),
    (
        "activate.weak",
        "Mật khẩu cần ít nhất 8 ký tự và không chỉ gồm chữ số.",
        "The password needs at least 8 characters and not only digits.",
    ),
    ("activate.mismatch", "Hai mật khẩu không khớp.", "The two passwords differ."),
    ("activate.done", "Đã kích hoạt. Mời đăng nhập.", "Activated. Please log in."),
    ("password.title", "Đổi mật khẩu", "Change password"),
    ("password.current", "Mật khẩu hiện tại", "Current password"),
    ("password.changed", "Đã đổi mật khẩu.", "Password changed."),
    ("nav.roster", "Nhập/xuất danh sách", "Import/export roster"),
    ("roster.title", "Danh sách giáo viên, CBQL", "Teacher and manager roster"),
    ("roster.upload", "Tải lên danh sách (.xlsx hoặc .csv)", "Upload a list (.xlsx or .csv)"),
    (
        "roster.upload_hint",
        "Các cột: Họ và tên, Ngày sinh, Giới tính, Số CCCD, Điện thoại, Email, Tỉnh, Xã/Phường, Trường (hoặc Mã trường), Cấp học, Môn dạy, Chức vụ, Cốt cán. Bạn sẽ xem trước, chưa có gì được ghi cho đến khi bấm Nhập.",
        "Columns: Họ và tên, Ngày sinh, Giới tính, Số CCCD, Điện thoại, Email, Tỉnh, Xã/Phường, Trường (or Mã trường), Cấp học, Môn dạy, Chức vụ, Cốt cán. You see a preview; nothing is written until you press Import.",
    ),
    ("roster.check", "Kiểm tra", "Check"),
    ("roster.export", "Tải danh sách", "Download the roster"),
    ("roster.nothing_written", "Chưa có gì được ghi.", "Nothing was written."),
    ("roster.preview", "Xem trước", "Preview"),
    ("roster.applied", "Đã nhập", "Imported"),
    ("roster.rows", "Số dòng", "Rows"),
    ("roster.add", "Thêm mới", "To add"),
    ("roster.update", "Cập nhật", "To update"),
    ("roster.unchanged", "Không đổi", "Unchanged"),
    ("roster.similar", "Giống người đã có (cần xác nhận)", "Look like someone on record (confirm)"),
    ("roster.errors", "Dòng lỗi", "Rows in error"),
    ("roster.repaired", "Đã tự sửa (mã cũ, số 0 đầu, …)", "Repaired (legacy encoding, leading zeros, …)"),
    ("roster.unknown_columns", "Cột không dùng", "Columns not used"),
    (
        "roster.held_back",
        "Đơn vị chưa nhập vì có dòng lỗi (số dòng hợp lệ đang chờ)",
        "Units held back because of rows in error (valid rows waiting)",
    ),
    ("roster.download_errors", "Tải danh sách lỗi (.xlsx)", "Download the errors (.xlsx)"),
    ("roster.row", "Dòng", "Row"),
    ("roster.column", "Cột", "Column"),
    ("roster.reason", "Lý do", "Reason"),
    ("roster.value", "Giá trị", "Value"),
    (
        "roster.accept_similar",
        "Vẫn nhập các dòng giống người đã có như người mới",
        "Import the look-alike rows as new people anyway",
    ),
    (
        "roster.apply_hint",
        "Mỗi trường được nhập trọn vẹn hoặc không; trường có dòng lỗi sẽ chờ đến khi sửa xong. Nhập lại cùng tệp không thay đổi gì.",
        "Each school goes in whole or not at all; a school with rows in error waits until they are fixed. Importing the same file again changes nothing.",
    ),
    ("roster.apply", "Nhập", "Import"),
    ("roster.map_title", "Chọn ý nghĩa các cột", "Choose what the columns mean"),
    (
        "roster.map_hint",
        "Tiêu đề cột của tệp khác với mẫu. Hãy cho biết mỗi cột là gì (ít nhất Họ và tên và Trường hoặc Mã trường), rồi kiểm tra lại.",
        "The file's headings differ from the template. Say what each column holds (at least the name and the school or its code), then check again.",
    ),
    ("roster.file_column", "Cột trong tệp", "Column in the file"),
    ("roster.means", "Là", "Holds"),
    ("roster.ignore", "bỏ qua", "ignore"),
    ("roster.back", "Quay lại trang danh sách", "Back to the roster page"),
    ("dup.title", "Hồ sơ có thể trùng", "Possible duplicate records"),
    ("dup.none", "Không thấy hồ sơ nào có thể trùng.", "No possible duplicates found."),
    (
        "dup.hint",
        "Chọn hồ sơ giữ lại rồi bấm Gộp: quá trình công tác, cốt cán, vai trò và tài khoản của các hồ sơ kia chuyển sang hồ sơ được giữ; các hồ sơ kia được đóng lại (không xoá) và việc gộp được ghi vào nhật ký.",
        "Pick the record to keep and press Merge: the others' history, core status, roles and account move to it; the others are closed (not deleted) and the merge is logged.",
    ),
    ("dup.reason.phone", "Cùng số điện thoại", "Same phone"),
    ("dup.reason.email", "Cùng email", "Same e-mail"),
    ("dup.reason.name_birth", "Cùng họ tên và ngày sinh", "Same name and birth date"),
    ("dup.keep", "Giữ", "Keep"),
    ("dup.merge", "Gộp", "Merge"),
    ("people.merged", "Đã gộp hồ sơ.", "Records merged."),
    ("nav.requests", "Đề nghị điều chỉnh/bổ sung", "Correction/addition requests"),
    (
        "requests.title",
        "Đề nghị điều chỉnh thông tin (Mẫu số 3) và bổ sung (Mẫu số 4)",
        "Correction (form 3) and addition (form 4) requests",
    ),
    ("requests.correction", "Điều chỉnh/hỗ trợ (Mẫu số 3)", "Corrections/support (form 3)"),
    ("requests.addition", "Bổ sung (Mẫu số 4)", "Additions (form 4)"),
    ("requests.export", "Tải mẫu Excel", "Download the form (.xlsx)"),
    (
        "requests.hint",
        "Trường gửi đề nghị lên cấp trên (xã/phường, hoặc Sở với trường THPT); cấp trên xử lý trước hạn. Chấp nhận đề nghị bổ sung sẽ thêm người vào trường.",
        "Schools send requests to the level above (the commune, or the Sở for upper-secondary schools), which answers by the deadline. Accepting an addition adds the person to the school.",
    ),
    ("requests.none", "Chưa có đề nghị nào.", "No requests yet."),
    ("requests.person", "Người", "Person"),
    ("requests.from", "Trường gửi", "From"),
    ("requests.to", "Gửi đến", "To"),
    ("requests.note", "Nội dung", "Content"),
    ("requests.deadline", "Hạn", "Deadline"),
    ("requests.status", "Tình trạng", "Status"),
    ("requests.status.open", "Chờ xử lý", "Open"),
    ("requests.status.resolved", "Đã xử lý", "Resolved"),
    ("requests.status.rejected", "Không chấp nhận", "Rejected"),
    ("requests.late", "Quá hạn", "Late"),
    ("requests.resolution", "Kết quả xử lý / lý do", "Resolution / reason"),
    ("requests.accept", "Chấp nhận", "Accept"),
    ("requests.reject", "Không chấp nhận", "Reject"),
    ("requests.filed", "Đã gửi đề nghị.", "Request sent."),
    ("requests.resolved", "Đã xử lý đề nghị.", "Request answered."),
    ("requests.new_correction", "Đề nghị điều chỉnh/hỗ trợ (Mẫu số 3)", "Request a correction/support (form 3)"),
    ("requests.new_addition", "Đề nghị bổ sung người vào danh sách (Mẫu số 4)", "Request an addition (form 4)"),
    ("requests.deadline_input", "Hạn xử lý (dd/mm/yyyy)", "Answer by (dd/mm/yyyy)"),
    ("requests.note_input", "Nội dung cần điều chỉnh / hỗ trợ / lý do", "What to correct / support needed / why"),
    ("home.welcome", "Xin chào", "Welcome"),
    ("home.roles", "Vai trò của bạn", "Your roles"),
    ("home.learner", "Học viên (xem hồ sơ của mình)", "Learner (own profile)"),
    ("home.counts", "Số liệu trong phạm vi", "Figures in scope"),
    ("tree.title", "Cơ cấu tổ chức", "Organisation tree"),
    ("tree.at", "Tại ngày", "At date"),
    ("tree.current", "Hiện tại", "Current"),
    ("tree.show", "Xem", "Show"),
    ("tree.historic", "Đang xem cơ cấu tại ngày", "Showing the tree as it was on"),
    ("tree.empty", "Không có đơn vị nào tại ngày này.", "No units at this date."),
    ("unit.code", "Mã", "Code"),
    ("unit.kind", "Loại đơn vị", "Kind"),
    ("unit.levels", "Cấp học", "Levels"),
    ("unit.valid", "Hiệu lực", "Valid"),
    ("unit.from", "từ", "from"),
    ("unit.to", "đến trước", "until"),
    ("unit.parents", "Trực thuộc (theo thời gian)", "Parent over time"),
    ("unit.children", "Đơn vị trực thuộc", "Units under it"),
    ("unit.predecessors", "Hình thành từ", "Formed from"),
    ("unit.successor", "Đã sáp nhập / đổi thành", "Merged / renamed into"),
    ("unit.people", "Nhân sự của đơn vị", "People of this unit"),
    ("unit.closed", "Đơn vị không còn hoạt động", "This unit no longer exists"),
    ("restructure.title", "Sắp xếp lại đơn vị", "Restructure"),
    ("restructure.kind", "Hình thức", "Operation"),
    (
        "restructure.merge",
        "Sáp nhập vào đơn vị khác (nhập mã đơn vị nhận)",
        "Merge into another unit (enter the receiving unit's code)",
    ),
    (
        "restructure.merge_new",
        "Sáp nhập cùng các đơn vị khác thành đơn vị mới",
        "Merge with other units into a new unit",
    ),
    ("restructure.rename", "Đổi tên (thành đơn vị mới)", "Rename (as a new unit)"),
    ("restructure.move", "Chuyển sang trực thuộc đơn vị khác", "Move under another parent"),
    ("restructure.dissolve", "Giải thể, chuyển về đơn vị khác", "Dissolve into another unit"),
    ("restructure.effective", "Ngày hiệu lực (dd/mm/yyyy)", "Effective date (dd/mm/yyyy)"),
    (
        "restructure.others",
        "Mã các đơn vị cùng sáp nhập (cách nhau bởi dấu phẩy)",
        "Codes of the other units merging (comma separated)",
    ),
    ("restructure.target", "Mã đơn vị nhận / đơn vị cấp trên mới", "Code of the receiving unit / new parent"),
    ("restructure.new_code", "Mã đơn vị mới", "New unit code"),
    ("restructure.new_name", "Tên đơn vị mới", "New unit name"),
    ("restructure.submit", "Thực hiện", "Apply"),
    ("restructure.done", "Đã sắp xếp lại đơn vị.", "Restructuring applied."),
    ("people.title", "Tra cứu nhân sự", "Find people"),
    ("people.q", "Họ tên, số CCCD, điện thoại hoặc email", "Name, national ID, phone or e-mail"),
    ("people.search", "Tìm", "Search"),
    ("people.none", "Không tìm thấy ai.", "Nobody found."),
    ("people.name", "Họ và tên", "Full name"),
    ("people.birth", "Ngày sinh", "Date of birth"),
    ("people.gender", "Giới tính", "Gender"),
    ("people.national_id", "Số CCCD", "National ID"),
    ("people.phone", "Điện thoại", "Phone"),
    ("people.email", "Email", "E-mail"),
    ("people.position", "Chức vụ", "Position"),
    ("people.levels", "Cấp học", "Levels"),
    ("people.main_subject", "Môn dạy chính", "Main subject"),
    ("people.other_subjects", "Môn khác (cách nhau bởi dấu phẩy)", "Other subjects (comma separated)"),
    ("people.unit", "Đơn vị", "Unit"),
    ("people.history", "Quá trình công tác", "Work history"),
    ("people.core", "Cốt cán", "Core status"),
    ("people.core_none", "Không", "None"),
    ("people.module", "Mô đun", "Module"),
    ("people.subject", "Môn", "Subject"),
    ("people.since", "Từ ngày", "Since"),
    ("people.account", "Tài khoản", "Account"),
    ("people.activated", "Đã kích hoạt", "Activated"),
    ("people.not_activated", "Chưa kích hoạt", "Not activated"),
    ("people.no_account", "Chưa có tài khoản", "No account"),
    ("people.locked", "Đang bị khoá đến", "Locked until"),
    ("people.edit", "Sửa thông tin", "Edit"),
    ("people.save", "Lưu", "Save"),
    ("people.saved", "Đã lưu thay đổi.", "Changes saved."),
    ("people.issue_code", "Cấp mã kích hoạt", "Issue activation code"),
    (
        "people.code_issued",
        "Mã kích hoạt (chỉ hiện một lần, hiệu lực 30 ngày):",
        "Activation code (shown once, valid 30 days):",
    ),
    ("people.unlock", "Mở khoá tài khoản", "Unlock account"),
    ("people.unlocked", "Đã mở khoá tài khoản.", "Account unlocked."),
    (
        "people.readonly_hint",
        "Các ô bị khoá nằm ngoài quyền sửa của bạn.",
        "Greyed fields are outside what your role may edit.",
    ),
    ("people.next", "Trang sau", "Next page"),
    ("people.prev", "Trang trước", "Previous page"),
    ("people.within", "Trong phạm vi", "Within"),
    ("people.present", "nay", "now"),
    ("people.roles", "Vai trò được giao", "Roles"),
    ("people.roles_none", "Không có", "None"),
    ("people.revoke", "Thu hồi", "Withdraw"),
    ("people.grant", "Giao vai trò", "Grant a role"),
    ("people.role", "Vai trò", "Role"),
    ("people.unit_code", "Mã đơn vị", "Unit code"),
    ("people.move", "Chuyển công tác", "Move to another unit"),
    ("people.move_date", "Từ ngày (dd/mm/yyyy)", "From (dd/mm/yyyy)"),
    ("people.retire", "Nghỉ hưu / thôi công tác", "Retire / leave"),
    ("people.retire_date", "Từ ngày (dd/mm/yyyy)", "From (dd/mm/yyyy)"),
    ("people.status", "Tình trạng", "Status"),
    ("status.active", "Đang công tác", "Working"),
    ("status.retired", "Đã nghỉ hưu / thôi công tác", "Retired / left"),
    ("status.merged", "Đã gộp vào hồ sơ khác", "Merged into another record"),
    ("people.add_core", "Công nhận cốt cán", "Add core status"),
    ("people.module_code", "Mã mô đun (ví dụ GV4660-02)", "Module code (e.g. GV4660-02)"),
    ("people.add", "Thêm người vào đơn vị", "Add a person to this unit"),
    ("people.from", "Ngày bắt đầu công tác tại đơn vị (dd/mm/yyyy)", "First day at this unit (dd/mm/yyyy)"),
    ("unit.covers", "Phụ trách các tỉnh", "Covers the provinces"),
    ("unit.add_cover", "Thêm tỉnh phụ trách (mã Sở)", "Add a covered province (its code)"),
    ("unit.add_child", "Thêm đơn vị trực thuộc", "Add a unit under this one"),
    ("unit.name", "Tên đơn vị", "Unit name"),
    ("unit.valid_from", "Hiệu lực từ ngày (dd/mm/yyyy)", "Valid from (dd/mm/yyyy)"),
    ("unit.levels_hint", "Cấp học (với trường), ví dụ TH, THCS", "Levels (schools), e.g. TH, THCS"),
    ("gender.M", "Nam", "Male"),
    ("gender.F", "Nữ", "Female"),
    ("audit.title", "Nhật ký thay đổi", "Audit log"),
    ("audit.at", "Thời điểm", "When"),
    ("audit.actor", "Người thực hiện", "Who"),
    ("audit.action", "Thao tác", "What"),
    ("audit.entity", "Đối tượng", "Record"),
    ("audit.before", "Trước", "Before"),
    ("audit.after", "Sau", "After"),
    ("audit.system", "hệ thống", "system"),
    ("audit.older", "Cũ hơn", "Older"),
    ("catalog.title", "Danh mục mô đun bồi dưỡng", "Training module catalog"),
    ("catalog.code", "Mã", "Code"),
    ("catalog.title_vi", "Tên (tiếng Việt)", "Title (Vietnamese)"),
    ("catalog.title_en", "Tên (tiếng Anh)", "Title (English)"),
    ("catalog.periods", "Số tiết", "Periods"),
    ("catalog.unverified", "chưa xác minh", "unverified"),
    ("catalog.save", "Lưu", "Save"),
    ("family.teacher_4660", "Mô đun GVPT cốt cán (QĐ 4660)", "Teacher modules (Decision 4660)"),
    ("family.manager_4660", "Mô đun CBQL cốt cán (QĐ 4660)", "Manager modules (Decision 4660)"),
    ("family.gvpt_2019", "Mô đun GVPT01–15 (TT 17/2019)", "Modules GVPT01–15 (Circular 17/2019)"),
    ("family.content_2012", "Nội dung bồi dưỡng 1, 2, 3 (TT 26/2012)", "Contents 1, 2, 3 (Circular 26/2012)"),
    ("family.elective_2012", "Mô đun tự chọn nội dung 3 (2012)", "Content 3 elective modules (2012)"),
    ("error.title", "Không thực hiện được", "Could not do that"),
    (
        "error.forbidden",
        "Bạn không có quyền thực hiện thao tác này trong phạm vi này.",
        "You are not allowed to do this in this scope.",
    ),
    ("error.not_found", "Không tìm thấy trang hoặc bản ghi.", "Page or record not found."),
    (
        "error.invalid",
        "Dữ liệu chưa hợp lệ, chưa có gì thay đổi. Vui lòng sửa các mục sau:",
        "The data is not valid; nothing was changed. Please correct:",
    ),
    (
        "error.conflict",
        "Trùng với dữ liệu đã có, chưa có gì thay đổi:",
        "Conflicts with existing data; nothing was changed:",
    ),
    (
        "error.csrf",
        "Phiên biểu mẫu đã hết hạn. Vui lòng tải lại trang và thử lại.",
        "The form expired. Reload the page and try again.",
    ),
    (
        "error.internal",
        "Lỗi hệ thống. Vui lòng thử lại sau; quản trị viên đã được ghi nhận lỗi.",
        "System error. Please try again later; it has been logged.",
    ),
    ("error.back", "Quay lại", "Go back"),
    ("field.full_name", "Họ và tên", "Full name"),
    ("field.birth_date", "Ngày sinh", "Date of birth"),
    ("field.gender", "Giới tính", "Gender"),
    ("field.national_id", "Số CCCD", "National ID"),
    ("field.phone", "Điện thoại", "Phone"),
    ("field.email", "Email", "E-mail"),
    ("field.position", "Chức vụ", "Position"),
    ("field.levels", "Cấp học", "Levels"),
    ("field.main_subject", "Môn dạy chính", "Main subject"),
    ("field.other_subjects", "Môn khác", "Other subjects"),
    ("field.code", "Mã đơn vị", "Unit code"),
    ("field.name", "Tên đơn vị", "Unit name"),
    ("field.effective", "Ngày hiệu lực", "Effective date"),
    ("field.sources", "Đơn vị sáp nhập", "Merging units"),
    ("field.target", "Đơn vị nhận", "Receiving unit"),
    ("field.parent", "Đơn vị cấp trên", "Parent unit"),
    ("field.unit", "Đơn vị", "Unit"),
    ("field.identity", "Người này (đã có hồ sơ)", "This person (already on record)"),
    ("field.username", "Tên đăng nhập", "Username"),
    ("field.title_vi", "Tên tiếng Việt", "Vietnamese title"),
    ("field.title_en", "Tên tiếng Anh", "English title"),
    ("field.kind", "Hình thức", "Operation"),
    ("field.body", "Nội dung gửi lên", "Request body"),
    ("field.at", "Ngày", "Date"),
    ("field.person", "Người", "Person"),
    ("field.valid_to", "Ngày kết thúc", "End date"),
    ("field.province", "Tỉnh", "Province"),
    ("field.file", "Tệp", "File"),
    ("field.note", "Nội dung", "Content"),
    ("field.deadline", "Hạn", "Deadline"),
    ("field.status", "Tình trạng", "Status"),
    ("field.resolution", "Kết quả xử lý", "Resolution"),
    ("field.map", "Cách hiểu các cột", "Column mapping"),
    ("field.others", "Hồ sơ gộp vào", "Records to merge"),
    ("field.password", "Mật khẩu mới", "New password"),
    ("field.valid_from", "Ngày hiệu lực", "Valid from"),
    ("field.from", "Ngày bắt đầu", "First day"),
    ("field.date", "Ngày", "Date"),
    ("field.since", "Từ ngày", "Since"),
    ("field.subject", "Môn", "Subject"),
    ("field.module_code", "Mã mô đun", "Module code"),
    ("field.role", "Vai trò", "Role"),
    ("field.core_status", "Cốt cán (mô đun, môn)", "Core status (module, subject)"),
    ("field.q", "Từ khoá tìm kiếm", "Search text"),
    ("field.query", "Tham số", "Query parameters"),
    ("code.required", "bắt buộc nhập", "is required"),
    ("code.too_long", "quá dài", "is too long"),
    ("code.invalid", "không hợp lệ", "is not valid"),
    ("code.invalid_date", "không phải ngày hợp lệ (dd/mm/yyyy)", "is not a valid date (dd/mm/yyyy)"),
    ("code.invalid_phone", "không phải số điện thoại Việt Nam hợp lệ", "is not a valid Vietnamese phone number"),
    ("code.invalid_email", "không phải địa chỉ email hợp lệ", "is not a valid e-mail address"),
    (
        "code.invalid_national_id",
        "phải gồm 12 chữ số (CCCD) hoặc 9 chữ số (CMND cũ)",
        "must be 12 digits (CCCD) or 9 digits (old CMND)",
    ),
    (
        "code.invalid_level",
        "có cấp học không hợp lệ (MN, TH, THCS, THPT, GDTX)",
        "has an unknown level (MN, TH, THCS, THPT, GDTX)",
    ),
    (
        "code.invalid_code",
        "chỉ gồm chữ cái không dấu, chữ số, '-', '_' hoặc '.' (tối đa 40 ký tự)",
        "may only hold ASCII letters, digits, '-', '_' or '.' (40 at most)",
    ),
    ("code.not_found", "không tồn tại", "does not exist"),
    ("code.overlap", "chồng lấn với thời gian hiệu lực hiện có", "overlaps the existing validity period"),
    ("code.cycle", "tạo thành vòng lặp trong cơ cấu", "would create a cycle in the tree"),
    ("code.already_closed", "đã ngừng hoạt động", "has already been closed"),
    ("code.kind_mismatch", "không cùng loại đơn vị", "is not of the same kind"),
    ("code.kind_not_allowed", "không được trực thuộc loại đơn vị này", "may not sit under this kind of unit"),
    ("code.not_valid_at_date", "không hoạt động vào ngày hiệu lực", "does not exist on the effective date"),
    ("code.duplicate", "bị lặp", "is repeated"),
    ("code.not_allowed", "không được phép", "is not allowed"),
    ("code.not_active", "không còn hoạt động", "is no longer active"),
    (
        "code.rename_one_to_new",
        "đổi tên chỉ áp dụng cho một đơn vị thành đơn vị mới",
        "a rename takes one unit into a new one",
    ),
    ("code.conflict", "đã tồn tại", "already exists"),
    ("code.malformed", "không đọc được", "could not be read"),
    ("kind.ministry", "Bộ", "Ministry"),
    ("kind.province", "Sở GDĐT", "Provincial department"),
    ("kind.commune", "Xã/phường (Phòng GDĐT)", "Commune / district office"),
    ("kind.cluster", "Cụm trường", "School cluster"),
    ("kind.school", "Trường", "School"),
    ("kind.university", "Trường ĐH sư phạm / Học viện", "Pedagogical university / academy"),
    ("role.ministry_admin", "Quản trị cấp Bộ", "Ministry administrator"),
    ("role.province_admin", "Quản trị cấp Sở", "Province administrator"),
    ("role.commune_admin", "Quản trị cấp xã/phòng", "Commune/district administrator"),
    ("role.school_admin", "Quản trị trường (Hiệu trưởng)", "School administrator (principal)"),
    ("role.key_lecturer", "Giảng viên sư phạm chủ chốt", "Key lecturer"),
    ("role.core_teacher", "Giáo viên/CBQL cốt cán", "Core teacher/manager"),
    ("role.lms_operator", "Đơn vị vận hành LMS", "LMS operator"),
    ("role.learner", "Học viên", "Learner"),
    ("position.teacher", "Giáo viên", "Teacher"),
    ("position.principal", "Hiệu trưởng", "Principal"),
    ("position.vice_principal", "Phó hiệu trưởng", "Vice-principal"),
    ("position.officer", "Chuyên viên", "Officer"),
    ("position.lecturer", "Giảng viên", "Lecturer"),
    ("position.staff", "Nhân viên", "Staff"),
    ("action.unit.create", "Tạo đơn vị", "Unit created"),
    ("action.unit.merge", "Sáp nhập đơn vị", "Units merged"),
    ("action.unit.rename", "Đổi tên đơn vị", "Unit renamed"),
    ("action.unit.dissolve", "Giải thể đơn vị", "Units dissolved"),
    ("action.unit.move", "Chuyển đơn vị", "Unit moved"),
    ("action.unit.coverage", "Giao tỉnh phụ trách", "Province coverage added"),
    ("action.person.create", "Thêm người", "Person added"),
    ("action.person.update", "Sửa thông tin người", "Person edited"),
    ("action.person.move", "Chuyển công tác", "Person moved"),
    ("action.person.core", "Công nhận cốt cán", "Core status added"),
    ("action.account.activation_issued", "Cấp mã kích hoạt", "Activation code issued"),
    ("action.account.unlock", "Mở khoá tài khoản", "Account unlocked"),
    ("action.role.grant", "Phân quyền", "Role granted"),
    ("action.role.revoke", "Thu hồi quyền", "Role withdrawn"),
    ("action.roster.import", "Nhập danh sách", "Roster imported"),
    ("action.person.retire", "Nghỉ hưu / thôi công tác", "Retired / left"),
    ("action.request.file", "Gửi đề nghị", "Request filed"),
    ("action.request.resolved", "Chấp nhận đề nghị", "Request accepted"),
    ("action.request.rejected", "Không chấp nhận đề nghị", "Request rejected"),
    ("action.person.merge", "Gộp hồ sơ trùng", "Duplicate records merged"),
    ("action.unit.import", "Tạo đơn vị khi nhập danh sách", "Units created by an import"),
    ("action.module.update", "Sửa tên mô đun", "Module title edited"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_templates_use_known_keys() {
        let mut seen = std::collections::HashSet::new();
        for (k, vi, en) in MESSAGES {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!vi.is_empty() && !en.is_empty(), "{k}");
        }
        // Every t.t("…") key used by a template exists.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for part in text.split("t.t(\"").skip(1) {
                let key = &part[..part.find('"').unwrap()];
                assert!(seen.contains(key), "template uses unknown key {key}");
            }
        }
    }
}

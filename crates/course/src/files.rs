//! The content-addressed file store (package media, learners' submissions, scanned plans) and
//! the checks an upload passes before it is stored.
//!
//! Files live outside the database under `root/ab/cd/<sha256>` (the first two pairs of hex
//! digits as directories); the database keeps the checksum, name, kind and size. A file is
//! written to a temporary file in its final directory and renamed into place, so a reader never
//! sees half a file; storing the same content twice stores it once.

use std::fs;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` is a lowercase hex SHA-256 (64 characters of `0-9a-f`).
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A content-addressed store rooted at a directory.
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
}

/// What [`FileStore::put`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub sha256: String,
    pub size: u64,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl FileStore {
    /// A store rooted at `root` (created on the first `put`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FileStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a file with this checksum lives (whether or not it exists); `None` if `sha256` is
    /// not 64 lowercase hex digits.
    fn location(&self, sha256: &str) -> Option<PathBuf> {
        is_sha256(sha256).then(|| self.root.join(&sha256[..2]).join(&sha256[2..4]).join(sha256))
    }

    /// Stores `bytes` and returns their checksum and size. Idempotent: content already stored is
    /// not written again.
    pub fn put(&self, bytes: &[u8]) -> io::Result<StoredFile> {
        self.write(bytes, true)
    }

    /// Like [`FileStore::put`] but without flushing the file to disk: the file is complete and in
    /// place (written, then renamed) but may not survive a power loss until [`FileStore::sync`]
    /// returns. For batches: write many files, sync once, then record them in the database.
    pub fn put_unsynced(&self, bytes: &[u8]) -> io::Result<StoredFile> {
        self.write(bytes, false)
    }

    fn write(&self, bytes: &[u8], sync: bool) -> io::Result<StoredFile> {
        let sha256 = sha256_hex(bytes);
        let path = self.location(&sha256).expect("a computed checksum is valid");
        let stored = StoredFile { sha256, size: bytes.len() as u64 };
        if path.is_file() {
            return Ok(stored);
        }
        let dir = path.parent().expect("a stored file has a directory");
        fs::create_dir_all(dir)?;
        let (temp_path, mut temp) = create_temp(dir, &stored.sha256)?;
        let written = temp.write_all(bytes).and_then(|()| if sync { temp.sync_all() } else { Ok(()) });
        drop(temp);
        if let Err(err) = written.and_then(|()| fs::rename(&temp_path, &path)) {
            let _ = fs::remove_file(&temp_path);
            return Err(err);
        }
        Ok(stored)
    }

    /// Makes every file written by [`FileStore::put_unsynced`] so far durable, with their
    /// directory entries: one `syncfs(2)` of the store's file system on Linux; elsewhere each
    /// of `checksums` and its directories is synced.
    pub fn sync(&self, checksums: &[&str]) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            let _ = checksums;
            use std::os::fd::AsRawFd;
            let root = fs::File::open(&self.root)?;
            // SAFETY: `root` is an open file descriptor for the duration of the call.
            if unsafe { libc::syncfs(root.as_raw_fd()) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut dirs = std::collections::BTreeSet::new();
            for sha256 in checksums {
                let path = self.location(sha256).ok_or_else(bad_checksum)?;
                fs::File::open(&path)?.sync_all()?;
                let mut dir = path.parent();
                while let Some(d) = dir.filter(|d| d.starts_with(&self.root)) {
                    dirs.insert(d.to_path_buf());
                    dir = d.parent();
                }
            }
            for d in dirs {
                // Directories cannot be opened for syncing everywhere (Windows); best effort.
                if let Ok(f) = fs::File::open(&d) {
                    let _ = f.sync_all();
                }
            }
            Ok(())
        }
    }

    /// The path of a stored file; `None` if the checksum is malformed or nothing is stored under it.
    pub fn path(&self, sha256: &str) -> Option<PathBuf> {
        self.location(sha256).filter(|p| p.is_file())
    }

    /// The content of a stored file (`NotFound` if absent, `InvalidInput` if `sha256` is malformed).
    pub fn read(&self, sha256: &str) -> io::Result<Vec<u8>> {
        fs::read(self.location(sha256).ok_or_else(bad_checksum)?)
    }

    /// Recomputes a stored file's checksum: `Ok(false)` if the content no longer matches.
    pub fn verify(&self, sha256: &str) -> io::Result<bool> {
        let mut file = fs::File::open(self.location(sha256).ok_or_else(bad_checksum)?)?;
        let mut hasher = Sha256::new();
        io::copy(&mut file, &mut hasher)?;
        Ok(hex::encode(hasher.finalize()) == sha256)
    }
}

fn bad_checksum() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a SHA-256 checksum")
}

fn create_temp(dir: &Path, sha256: &str) -> io::Result<(PathBuf, fs::File)> {
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".tmp-{}-{}-{n}", &sha256[..16], std::process::id()));
        match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
}

/// The kinds of file the system accepts anywhere, recognised by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Pdf,
    Docx,
    Xlsx,
    Pptx,
    Jpeg,
    Png,
    Gif,
    Webp,
    Mp4,
    Webm,
    Mp3,
    /// A zip archive that is not an Office document.
    Zip,
}

impl FileKind {
    pub const ALL: &'static [FileKind] = &[
        FileKind::Pdf,
        FileKind::Docx,
        FileKind::Xlsx,
        FileKind::Pptx,
        FileKind::Jpeg,
        FileKind::Png,
        FileKind::Gif,
        FileKind::Webp,
        FileKind::Mp4,
        FileKind::Webm,
        FileKind::Mp3,
        FileKind::Zip,
    ];

    pub fn mime(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileKind::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::Gif => "image/gif",
            FileKind::Webp => "image/webp",
            FileKind::Mp4 => "video/mp4",
            FileKind::Webm => "video/webm",
            FileKind::Mp3 => "audio/mpeg",
            FileKind::Zip => "application/zip",
        }
    }

    /// The usual extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Docx => "docx",
            FileKind::Xlsx => "xlsx",
            FileKind::Pptx => "pptx",
            FileKind::Jpeg => "jpg",
            FileKind::Png => "png",
            FileKind::Gif => "gif",
            FileKind::Webp => "webp",
            FileKind::Mp4 => "mp4",
            FileKind::Webm => "webm",
            FileKind::Mp3 => "mp3",
            FileKind::Zip => "zip",
        }
    }

    /// The kind an extension (without the dot, any case) names.
    pub fn from_extension(ext: &str) -> Option<FileKind> {
        Some(match ext.to_ascii_lowercase().as_str() {
            "pdf" => FileKind::Pdf,
            "docx" => FileKind::Docx,
            "xlsx" => FileKind::Xlsx,
            "pptx" => FileKind::Pptx,
            "jpg" | "jpeg" => FileKind::Jpeg,
            "png" => FileKind::Png,
            "gif" => FileKind::Gif,
            "webp" => FileKind::Webp,
            "mp4" | "m4v" => FileKind::Mp4,
            "webm" => FileKind::Webm,
            "mp3" => FileKind::Mp3,
            "zip" => FileKind::Zip,
            _ => return None,
        })
    }

    /// The name users know the kind by.
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Pdf => "PDF",
            FileKind::Docx => "Word (.docx)",
            FileKind::Xlsx => "Excel (.xlsx)",
            FileKind::Pptx => "PowerPoint (.pptx)",
            FileKind::Jpeg => "ảnh JPEG",
            FileKind::Png => "ảnh PNG",
            FileKind::Gif => "ảnh GIF",
            FileKind::Webp => "ảnh WebP",
            FileKind::Mp4 => "video MP4",
            FileKind::Webm => "video WebM",
            FileKind::Mp3 => "âm thanh MP3",
            FileKind::Zip => "tệp nén .zip",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, FileKind::Jpeg | FileKind::Png | FileKind::Gif | FileKind::Webp)
    }

    pub fn is_video(self) -> bool {
        matches!(self, FileKind::Mp4 | FileKind::Webm)
    }
}

/// Recognises a file by its content (magic bytes; Office documents by the parts inside the zip).
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    let head = |n: usize| bytes.get(..n);
    if bytes.get(..1024.min(bytes.len()))?.windows(5).any(|w| w == b"%PDF-") {
        return Some(FileKind::Pdf);
    }
    if head(8) == Some(b"\x89PNG\r\n\x1a\n") {
        return Some(FileKind::Png);
    }
    if head(3) == Some(b"\xff\xd8\xff") {
        return Some(FileKind::Jpeg);
    }
    if matches!(head(6), Some(b"GIF87a" | b"GIF89a")) {
        return Some(FileKind::Gif);
    }
    if head(4) == Some(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Some(FileKind::Webp);
    }
    if bytes.get(4..8) == Some(b"ftyp") {
        // ISO base media: HEIF/AVIF images and QuickTime share the box but are not MP4.
        let brand = bytes.get(8..12)?;
        let not_mp4: [&[u8]; 8] = [b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif", b"avis", b"qt  "];
        return (!not_mp4.contains(&brand)).then_some(FileKind::Mp4);
    }
    if head(4) == Some(b"\x1a\x45\xdf\xa3") {
        return Some(FileKind::Webm);
    }
    if head(3) == Some(b"ID3") || matches!(head(2), Some([0xff, 0xfb | 0xf3 | 0xf2 | 0xfa])) {
        return Some(FileKind::Mp3);
    }
    if matches!(head(4), Some(b"PK\x03\x04" | b"PK\x05\x06")) {
        return sniff_zip(bytes);
    }
    None
}

/// A zip is a Word, Excel or PowerPoint document when it has the main part of one (and the
/// package's content-types part); any other readable zip is a plain zip.
fn sniff_zip(bytes: &[u8]) -> Option<FileKind> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let names: Vec<&[u8]> = archive.file_names_raw().collect();
    if names.contains(&&b"[Content_Types].xml"[..]) {
        for (folder, kind) in [(&b"word/"[..], FileKind::Docx), (b"xl/", FileKind::Xlsx), (b"ppt/", FileKind::Pptx)] {
            // The main part is usually word/document.xml, xl/workbook.xml, ppt/presentation.xml,
            // but its name is free: any XML part directly in the folder will do.
            let has_part = names.iter().any(|name| {
                name.strip_prefix(folder).is_some_and(|rest| !rest.contains(&b'/') && rest.ends_with(b".xml"))
            });
            if has_part {
                return Some(kind);
            }
        }
    }
    Some(FileKind::Zip)
}

/// What an upload may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadPolicy {
    pub max_bytes: usize,
    pub allowed: &'static [FileKind],
}

const MB: usize = 1024 * 1024;

/// Learners' files attached to essays and final assignments.
pub const SUBMISSION_POLICY: UploadPolicy = UploadPolicy {
    max_bytes: 20 * MB,
    allowed: &[FileKind::Pdf, FileKind::Docx, FileKind::Xlsx, FileKind::Pptx, FileKind::Jpeg, FileKind::Png],
};

/// Scans of signed and stamped peer-support plans and reports.
pub const PLAN_SCAN_POLICY: UploadPolicy =
    UploadPolicy { max_bytes: 10 * MB, allowed: &[FileKind::Pdf, FileKind::Jpeg, FileKind::Png] };

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("Tệp “{name}” trống")]
    Empty { name: String },
    #[error("Tệp quá lớn: tối đa {}", size_label(*.max_bytes))]
    TooLarge { name: String, size: usize, max_bytes: usize },
    #[error("Tệp “{name}” {}: chỉ nhận {}", found_label(*.found), allowed_label(.allowed))]
    Type { name: String, found: Option<FileKind>, allowed: &'static [FileKind] },
}

impl UploadError {
    /// A stable identifier for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            UploadError::Empty { .. } => "file_empty",
            UploadError::TooLarge { .. } => "file_too_large",
            UploadError::Type { .. } => "file_type",
        }
    }
}

fn size_label(bytes: usize) -> String {
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else if bytes >= MB {
        format!("{} MB", crate::fmt_points((bytes as f64 / MB as f64 * 100.0).round() / 100.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

fn found_label(found: Option<FileKind>) -> String {
    match found {
        Some(kind) => format!("là {}", kind.label()),
        None => "không phải loại tệp được nhận".to_string(),
    }
}

fn allowed_label(allowed: &[FileKind]) -> String {
    allowed.iter().map(|k| k.label()).collect::<Vec<_>>().join(", ")
}

/// Checks an upload against a policy and returns its kind, recognised by content: the name's
/// extension is not trusted (an .exe renamed .pdf is refused; a PNG named .jpg is a PNG).
pub fn check_upload(file_name: &str, bytes: &[u8], policy: &UploadPolicy) -> Result<FileKind, UploadError> {
    let name = file_name.to_string();
    if bytes.is_empty() {
        return Err(UploadError::Empty { name });
    }
    if bytes.len() > policy.max_bytes {
        return Err(UploadError::TooLarge { name, size: bytes.len(), max_bytes: policy.max_bytes });
    }
    match sniff(bytes) {
        Some(kind) if policy.allowed.contains(&kind) => Ok(kind),
        found => Err(UploadError::Type { name, found, allowed: policy.allowed }),
    }
}

/// Reads at most `limit` bytes; `None` if the source holds more.
pub(crate) fn read_limited(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    Ok((out.len() as u64 <= limit).then_some(out))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    pub(crate) const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n";

    fn docx() -> Vec<u8> {
        zip_of(&[("[Content_Types].xml", b"<Types/>"), ("_rels/.rels", b"<r/>"), ("word/document.xml", b"<w/>")])
    }

    #[test]
    fn put_read_verify() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("files"));
        let stored = store.put(b"xin chao").unwrap();
        assert_eq!(stored.size, 8);
        assert_eq!(stored.sha256, sha256_hex(b"xin chao"));
        let path = store.path(&stored.sha256).unwrap();
        assert_eq!(
            path,
            dir.path().join("files").join(&stored.sha256[..2]).join(&stored.sha256[2..4]).join(&stored.sha256)
        );
        assert_eq!(store.read(&stored.sha256).unwrap(), b"xin chao");
        assert!(store.verify(&stored.sha256).unwrap());
        assert_eq!(store.root(), dir.path().join("files"));
    }

    #[test]
    fn unsynced_puts_are_complete_and_sync_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("files"));
        let a = store.put_unsynced(b"first").unwrap();
        let b = store.put_unsynced(b"second").unwrap();
        assert_eq!(store.put(b"first").unwrap(), a);
        store.sync(&[&a.sha256, &b.sha256]).unwrap();
        assert_eq!(store.read(&b.sha256).unwrap(), b"second");
        assert!(store.verify(&a.sha256).unwrap());
    }

    #[test]
    fn put_is_idempotent_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let a = store.put(b"abc").unwrap();
        let b = store.put(b"abc").unwrap();
        assert_eq!(a, b);
        let folder = store.path(&a.sha256).unwrap().parent().unwrap().to_path_buf();
        let names: Vec<_> = fs::read_dir(folder).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from(&a.sha256)]);
        let empty = store.put(b"").unwrap();
        assert_eq!(empty.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(store.read(&empty.sha256).unwrap(), b"");
    }

    #[test]
    fn verify_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let stored = store.put(b"noi dung goc").unwrap();
        fs::write(store.path(&stored.sha256).unwrap(), b"bi sua").unwrap();
        assert!(!store.verify(&stored.sha256).unwrap());
    }

    #[test]
    fn bad_and_missing_checksums() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let missing = sha256_hex(b"never stored");
        assert_eq!(store.path(&missing), None);
        assert_eq!(store.read(&missing).unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(store.verify(&missing).unwrap_err().kind(), io::ErrorKind::NotFound);
        let upper = missing.to_uppercase();
        let traversal = format!("../../{}", &missing[6..]);
        for bad in ["", "abc", upper.as_str(), traversal.as_str(), &"g".repeat(64), &format!("{missing}0")] {
            assert_eq!(store.path(bad), None, "{bad}");
            assert_eq!(store.read(bad).unwrap_err().kind(), io::ErrorKind::InvalidInput, "{bad}");
            assert_eq!(store.verify(bad).unwrap_err().kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn put_fails_cleanly_when_root_is_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("not-a-dir");
        fs::write(&root, b"x").unwrap();
        assert!(FileStore::new(&root).put(b"abc").is_err());
    }

    #[test]
    fn sniffs_by_content() {
        let xlsx = zip_of(&[("[Content_Types].xml", b"<T/>"), ("xl/workbook.xml", b"<w/>")]);
        let pptx = zip_of(&[("[Content_Types].xml", b"<T/>"), ("ppt/presentation.xml", b"<p/>")]);
        let docx2 = zip_of(&[("[Content_Types].xml", b"<T/>"), ("word/document2.xml", b"<w/>")]);
        let plain_zip = zip_of(&[("a.txt", b"a")]);
        let fake_office = zip_of(&[("word/document.xml", b"<w/>")]);
        let docx = docx();
        let cases: Vec<(&[u8], Option<FileKind>)> = vec![
            (PDF, Some(FileKind::Pdf)),
            (b"\r\n%PDF-1.7", Some(FileKind::Pdf)),
            (PNG, Some(FileKind::Png)),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", Some(FileKind::Jpeg)),
            (b"GIF89a....", Some(FileKind::Gif)),
            (b"RIFF\0\0\0\0WEBPVP8 ", Some(FileKind::Webp)),
            (b"\0\0\0\x18ftypmp42\0\0\0\0", Some(FileKind::Mp4)),
            (b"\0\0\0\x18ftypisom\0\0\0\0", Some(FileKind::Mp4)),
            (b"\0\0\0\x18ftypheic\0\0\0\0", None),
            (b"\0\0\0\x18ftyp", None),
            (b"\x1a\x45\xdf\xa3\x9f", Some(FileKind::Webm)),
            (b"ID3\x03\0", Some(FileKind::Mp3)),
            (b"\xff\xfb\x90\x64", Some(FileKind::Mp3)),
            (&docx, Some(FileKind::Docx)),
            (&docx2, Some(FileKind::Docx)),
            (&xlsx, Some(FileKind::Xlsx)),
            (&pptx, Some(FileKind::Pptx)),
            (&plain_zip, Some(FileKind::Zip)),
            (&fake_office, Some(FileKind::Zip)),
            (b"PK\x03\x04 broken zip", None),
            (b"MZ\x90\0\x03\0\0\0", None),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", None),
            (b"<html><script>", None),
            (b"", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(sniff(bytes), expected, "{:?}", String::from_utf8_lossy(&bytes[..bytes.len().min(12)]));
        }
    }

    #[test]
    fn kinds_metadata() {
        for &kind in FileKind::ALL {
            assert_eq!(FileKind::from_extension(kind.extension()), Some(kind));
            assert!(kind.mime().contains('/'));
            assert!(!kind.label().is_empty());
        }
        assert_eq!(FileKind::from_extension("JPEG"), Some(FileKind::Jpeg));
        assert_eq!(FileKind::from_extension("exe"), None);
        assert!(FileKind::Png.is_image() && !FileKind::Pdf.is_image());
        assert!(FileKind::Webm.is_video() && !FileKind::Mp3.is_video());
    }

    #[test]
    fn upload_accepts_allowed_content() {
        assert_eq!(check_upload("bai-lam.pdf", PDF, &SUBMISSION_POLICY), Ok(FileKind::Pdf));
        assert_eq!(check_upload("Bài làm.docx", &docx(), &SUBMISSION_POLICY), Ok(FileKind::Docx));
        // The content decides, not the name.
        assert_eq!(check_upload("anh-chup.jpg", PNG, &PLAN_SCAN_POLICY), Ok(FileKind::Png));
        assert_eq!(check_upload("ke-hoach", PDF, &PLAN_SCAN_POLICY), Ok(FileKind::Pdf));
    }

    #[test]
    fn upload_refuses_empty() {
        let err = check_upload("a.pdf", b"", &SUBMISSION_POLICY).unwrap_err();
        assert_eq!(err.code(), "file_empty");
        assert_eq!(err.to_string(), "Tệp “a.pdf” trống");
    }

    #[test]
    fn upload_refuses_too_large() {
        let mut big = PDF.to_vec();
        big.resize(20 * MB + 1, b' ');
        let err = check_upload("a.pdf", &big, &SUBMISSION_POLICY).unwrap_err();
        assert_eq!(err.code(), "file_too_large");
        assert_eq!(err.to_string(), "Tệp quá lớn: tối đa 20 MB");
        big.truncate(20 * MB);
        assert_eq!(check_upload("a.pdf", &big, &SUBMISSION_POLICY), Ok(FileKind::Pdf));
        let err = check_upload("a.pdf", &big, &PLAN_SCAN_POLICY).unwrap_err();
        assert_eq!(err.to_string(), "Tệp quá lớn: tối đa 10 MB");
        let small = UploadPolicy { max_bytes: 1536, allowed: &[FileKind::Pdf] };
        assert_eq!(check_upload("a.pdf", &big, &small).unwrap_err().to_string(), "Tệp quá lớn: tối đa 2 KB");
        let odd = UploadPolicy { max_bytes: MB + MB / 2, allowed: &[FileKind::Pdf] };
        assert_eq!(check_upload("a.pdf", &big, &odd).unwrap_err().to_string(), "Tệp quá lớn: tối đa 1,5 MB");
    }

    #[test]
    fn upload_refuses_other_content_whatever_the_name() {
        let err = check_upload("ke-hoach.pdf", b"MZ\x90\0\x03\0\0\0 this program", &SUBMISSION_POLICY).unwrap_err();
        assert_eq!(err.code(), "file_type");
        assert_eq!(
            err.to_string(),
            "Tệp “ke-hoach.pdf” không phải loại tệp được nhận: chỉ nhận PDF, Word (.docx), Excel (.xlsx), \
             PowerPoint (.pptx), ảnh JPEG, ảnh PNG"
        );
        let err = check_upload("ke-hoach.pdf", &docx(), &PLAN_SCAN_POLICY).unwrap_err();
        assert_eq!(
            err,
            UploadError::Type {
                name: "ke-hoach.pdf".into(),
                found: Some(FileKind::Docx),
                allowed: PLAN_SCAN_POLICY.allowed
            }
        );
        assert_eq!(err.to_string(), "Tệp “ke-hoach.pdf” là Word (.docx): chỉ nhận PDF, ảnh JPEG, ảnh PNG");
        let zip = zip_of(&[("a.exe", b"MZ")]);
        assert_eq!(check_upload("bai.docx", &zip, &SUBMISSION_POLICY).unwrap_err().code(), "file_type");
    }

    #[test]
    fn limited_reads() {
        assert_eq!(read_limited(&b"abc"[..], 3).unwrap(), Some(b"abc".to_vec()));
        assert_eq!(read_limited(&b"abcd"[..], 3).unwrap(), None);
    }
}

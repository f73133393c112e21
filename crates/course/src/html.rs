//! Rich text: Markdown from course packages and HTML authored in the UI, both reduced to the same
//! safe subset of HTML by one ammonia policy.
//!
//! The policy keeps basic formatting, headings, lists, tables, quotes, code, links and images.
//! Links may point to `https:`, `http:`, `mailto:`, `#anchors` and stored files (`/files/…`);
//! every link gets `rel="noopener noreferrer"`. Images may only come from stored files
//! (`/files/…`) or `https:`. Scripts, styles, event handlers (`on…`), `javascript:` URLs and
//! anything else are removed. The output is NFC.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
use unicode_normalization::UnicodeNormalization;

/// Where stored files are served from; the only relative URLs the policy keeps.
pub const FILES_PREFIX: &str = "/files/";

static POLICY: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&'static str> = [
        "p",
        "br",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "s",
        "del",
        "sub",
        "sup",
        "mark",
        "small",
        "blockquote",
        "code",
        "pre",
        "kbd",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "caption",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "a",
        "img",
        "figure",
        "figcaption",
        "span",
        "div",
    ]
    .into_iter()
    .collect();
    let mut attributes: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
    attributes.insert("a", ["href", "title"].into_iter().collect());
    attributes.insert("img", ["src", "alt", "title", "width", "height"].into_iter().collect());
    attributes.insert("ol", ["start"].into_iter().collect());
    attributes.insert("th", ["colspan", "rowspan", "style"].into_iter().collect());
    attributes.insert("td", ["colspan", "rowspan", "style"].into_iter().collect());
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags)
        .tag_attributes(attributes)
        .url_schemes(["https", "http", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer"))
        .filter_style_properties(["text-align"].into_iter().collect())
        .strip_comments(true)
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("img", "src") => allowed_image(value).then_some(Cow::Borrowed(value)),
            ("a", "href") => allowed_link(value).then_some(Cow::Borrowed(value)),
            _ => Some(Cow::Borrowed(value)),
        });
    builder
});

/// Whether `url` is a stored file's URL: `/files/<sha256>` optionally followed by `/<name>`
/// (no `..`, no backslash).
pub fn is_file_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix(FILES_PREFIX) else {
        return false;
    };
    let (Some(sha256), Some(name)) = (rest.get(..64), rest.get(64..)) else {
        return false;
    };
    crate::files::is_sha256(sha256)
        && (name.is_empty() || name.starts_with('/'))
        && !name.contains("..")
        && !name.contains('\\')
}

fn allowed_image(src: &str) -> bool {
    let src = src.trim();
    is_file_url(src) || src.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

fn allowed_link(href: &str) -> bool {
    let href = href.trim();
    if is_file_url(href) || href.starts_with('#') {
        return true;
    }
    // Any other relative URL (including protocol-relative `//host`) is refused; absolute URLs go
    // on to ammonia's scheme check (https, http, mailto).
    url_scheme(href).is_some()
}

/// The scheme of an absolute URL (`https` of `https://…`), if the text has one.
fn url_scheme(url: &str) -> Option<&str> {
    let colon = url.find(':')?;
    let scheme = &url[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then_some(scheme)
}

/// Sanitizes HTML authored in the UI (rich-text editor) with the crate's policy; NFC output.
pub fn sanitize_html(html: &str) -> String {
    let clean = POLICY.clean(html).to_string();
    clean.nfc().collect()
}

/// Renders Markdown (CommonMark with tables and strikethrough) to sanitized HTML.
///
/// A relative link or image target (no scheme, not starting with `/`, `#` or `?`) is handed,
/// percent-decoded and without its `#fragment`/`?query`, to `media`, which returns the stored
/// URL (e.g. `/files/<sha256>/hinh1.png`); the fragment is kept. A target `media` does not know
/// is left as written, and the sanitizer then drops it.
pub fn markdown_to_html(md: &str, media: &dyn Fn(&str) -> Option<String>) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(md, options).map(|event| match event {
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Link { link_type, dest_url: rewrite(dest_url, media), title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Image { link_type, dest_url: rewrite(dest_url, media), title, id })
        }
        other => other,
    });
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    sanitize_html(&html)
}

fn rewrite<'a>(dest: CowStr<'a>, media: &dyn Fn(&str) -> Option<String>) -> CowStr<'a> {
    if !is_relative(&dest) {
        return dest;
    }
    let split = dest.find(['#', '?']).unwrap_or(dest.len());
    let (path, rest) = dest.split_at(split);
    let decoded = percent_decode(path);
    let fragment = rest.find('#').map(|i| &rest[i..]).unwrap_or("");
    match media(&decoded) {
        Some(url) => CowStr::from(format!("{url}{fragment}")),
        None => dest,
    }
}

/// Whether a link target refers to a file of the package rather than to a web address.
pub(crate) fn is_relative(dest: &str) -> bool {
    let dest = dest.trim();
    !dest.is_empty() && !dest.starts_with(['/', '#', '?', '\\']) && url_scheme(dest).is_none()
}

/// Decodes `%XX` escapes; text that does not decode to UTF-8 is returned unchanged.
pub(crate) fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// Encodes a file name for use as the last segment of a URL (unreserved ASCII kept).
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_media(_: &str) -> Option<String> {
        None
    }

    fn store(path: &str) -> Option<String> {
        match path {
            "media/hinh1.png" => {
                Some("/files/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/hinh1.png".into())
            }
            "media/tài liệu.pdf" => Some(
                "/files/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/t%C3%A0i%20li%E1%BB%87u.pdf"
                    .into(),
            ),
            _ => None,
        }
    }

    #[test]
    fn renders_headings_lists_tables() {
        let md = "# Bài 1\n\nĐoạn **đậm** và *nghiêng*.\n\n- một\n- hai\n\n| Cột | Giá trị |\n|:---|---:|\n| a | 1 |\n";
        let html = markdown_to_html(md, &no_media);
        assert!(html.contains("<h1>Bài 1</h1>"), "{html}");
        assert!(html.contains("<strong>đậm</strong>"));
        assert!(html.contains("<em>nghiêng</em>"));
        assert!(html.contains("<ul>") && html.contains("<li>một</li>"));
        assert!(html.contains("<table>") && html.contains("<th style=\"text-align:left\">Cột</th>"), "{html}");
        assert!(html.contains("<td style=\"text-align:right\">1</td>"), "{html}");
    }

    #[test]
    fn strikethrough_and_ordered_start() {
        let html = markdown_to_html("~~cũ~~\n\n3. ba\n4. bốn\n", &no_media);
        assert!(html.contains("<del>cũ</del>"), "{html}");
        assert!(html.contains("<ol start=\"3\">"), "{html}");
    }

    #[test]
    fn rewrites_package_media() {
        let md = "![Hình 1](media/hinh1.png \"Sơ đồ\")\n\n[Tài liệu](media/t%C3%A0i%20li%E1%BB%87u.pdf#page=2)";
        let html = markdown_to_html(md, &store);
        assert!(html.contains("<img src=\"/files/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/hinh1.png\" alt=\"Hình 1\" title=\"Sơ đồ\">"), "{html}");
        assert!(html.contains("href=\"/files/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/t%C3%A0i%20li%E1%BB%87u.pdf#page=2\""), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer\""), "{html}");
    }

    #[test]
    fn angle_bracket_targets_with_spaces_are_looked_up_decoded() {
        let html = markdown_to_html("[x](<media/tài liệu.pdf>)", &store);
        assert!(html.contains("/files/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/"), "{html}");
    }

    #[test]
    fn unknown_relative_targets_are_dropped() {
        let html = markdown_to_html("![a](media/khong-co.png) [b](bai-2.md)", &store);
        assert!(!html.contains("khong-co"), "{html}");
        assert!(!html.contains("bai-2.md"), "{html}");
        assert!(html.contains("<img alt=\"a\">"), "{html}");
    }

    #[test]
    fn absolute_targets_are_not_looked_up() {
        let seen = std::cell::RefCell::new(Vec::new());
        let media = |p: &str| {
            seen.borrow_mut().push(p.to_string());
            None
        };
        let md = "[a](https://moet.gov.vn/) [b](/files/0000000000000000000000000000000000000000000000000000000000000000/y.pdf) [c](#muc-1) [d](mailto:a@b.vn) [e](?q=1)";
        let html = markdown_to_html(md, &media);
        assert!(seen.borrow().is_empty(), "{:?}", seen.borrow());
        assert!(html.contains("href=\"https://moet.gov.vn/\""));
        assert!(
            html.contains("href=\"/files/0000000000000000000000000000000000000000000000000000000000000000/y.pdf\"")
        );
        assert!(html.contains("href=\"#muc-1\""));
        assert!(html.contains("href=\"mailto:a@b.vn\""));
        assert!(!html.contains("?q=1"), "{html}");
    }

    #[test]
    fn raw_html_in_markdown_is_sanitized() {
        let md = "Xin chào <script>alert(1)</script><img src=x onerror=alert(1)> [x](javascript:alert(1))";
        let html = markdown_to_html(md, &no_media);
        assert!(!html.contains("script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert!(!html.contains("alert"), "{html}");
    }

    #[test]
    fn sanitize_removes_script_handlers_and_javascript_urls() {
        let dirty = r#"<p onclick="steal()">Chào <b>thầy cô</b><script>alert('x')</script></p>
<img src="https://example.com/a.png" onerror="alert(1)">
<a href="javascript:alert(1)">bấm</a><a href=" JaVaScRiPt:alert(1)">bấm 2</a>
<style>body{display:none}</style><iframe src="https://evil.example"></iframe>
<div style="position:fixed">x</div>"#;
        let html = sanitize_html(dirty);
        for bad in ["script", "onerror", "onclick", "javascript", "JaVaScRiPt", "style", "iframe", "alert", "steal"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        assert!(html.contains("<b>thầy cô</b>"), "{html}");
        assert!(html.contains("<img src=\"https://example.com/a.png\">"), "{html}");
        assert!(html.contains("<a rel=\"noopener noreferrer\">bấm</a>"), "{html}");
    }

    #[test]
    fn image_sources_limited_to_files_and_https() {
        let html = sanitize_html(
            r#"<img src="/files/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/c.png"><img src="/files/ab/c.png"><img src="/files/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/../../x"><img src="http://x.vn/a.png"><img src="data:image/png;base64,AAAA"><img src="//evil.example/a.png"><img src="a.png"><img src="HTTPS://x.vn/b.png">"#,
        );
        assert!(html.contains("src=\"/files/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/c.png\""));
        assert!(html.contains("src=\"HTTPS://x.vn/b.png\""));
        for bad in ["http://x.vn", "data:", "evil", "\"a.png\"", "/files/ab/", "../"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn links_limited_and_rel_forced() {
        let html = sanitize_html(
            r#"<a href="https://a.vn" rel="opener" target="_blank">1</a><a href="//evil.example">2</a><a href="../x">3</a><a href="ftp://x">4</a><a href="http://b.vn">5</a>"#,
        );
        assert!(html.contains("<a href=\"https://a.vn\" rel=\"noopener noreferrer\">1</a>"), "{html}");
        assert!(html.contains("<a href=\"http://b.vn\" rel=\"noopener noreferrer\">5</a>"), "{html}");
        for bad in ["evil", "../x", "ftp:", "_blank", "\"opener\""] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn output_is_nfc() {
        let nfd = "Tie\u{302}\u{301}ng Vie\u{323}\u{302}t";
        assert_eq!(sanitize_html(nfd), "Tiếng Việt");
        assert_eq!(markdown_to_html(nfd, &no_media), "<p>Tiếng Việt</p>\n");
    }

    #[test]
    fn file_urls() {
        let sha = "0123456789abcdef".repeat(4);
        assert!(is_file_url(&format!("/files/{sha}")));
        assert!(is_file_url(&format!("/files/{sha}/t%C3%A0i.pdf")));
        assert!(!is_file_url(&format!("/files/{sha}x")));
        assert!(!is_file_url(&format!("/files/{sha}/../x")));
        assert!(!is_file_url(&format!("/files/{sha}/a\\b")));
        assert!(!is_file_url(&format!("/files/{}", sha.to_uppercase())));
        assert!(!is_file_url("/files/abc/x.png"));
        assert!(!is_file_url("/files/"));
        assert!(!is_file_url(&format!("/other/{sha}")));
        assert!(!is_file_url("/files/\u{e0}\u{e0}"));
        assert!(!is_file_url(&format!("/files/{}\u{e0}", &sha[..63])));
    }

    #[test]
    fn helpers() {
        assert!(is_relative("media/a.png"));
        assert!(is_relative("../media/a.png"));
        assert!(!is_relative("/files/a"));
        assert!(!is_relative("https://a"));
        assert!(!is_relative("mailto:a@b"));
        assert!(!is_relative(""));
        assert!(!is_relative("#x"));
        assert_eq!(percent_decode("a%20b%ZZ%"), "a b%ZZ%");
        assert_eq!(percent_decode("%FF"), "%FF");
        assert_eq!(percent_encode("tài liệu.pdf"), "t%C3%A0i%20li%E1%BB%87u.pdf");
        assert_eq!(url_scheme("C:/x"), Some("C"));
        assert_eq!(url_scheme("1a:b"), None);
    }
}

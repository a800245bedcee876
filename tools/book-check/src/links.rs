//! The parts of the link check that need no browser: where an `href` points, whether that file
//! exists in the built book, and which ids a page has for a `#fragment` to land on.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Where one `href` points, resolved against the page's base URL path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An `http:`, `https:` or protocol-relative (`//host/…`) URL: listed, never fetched.
    External(String),
    /// A file of the book, as a path relative to the book's root with `/` separators and
    /// percent-decoded (`""` is the root itself), and the decoded fragment, if any.
    Internal {
        /// The target's path relative to the book's root (`exercises/lesson-1.html`).
        path: String,
        /// What follows `#`, percent-decoded; `None` when there is no `#`.
        fragment: Option<String>,
    },
    /// A relative link with more `..` than the page is deep: it leaves the book.
    OutsideBook,
    /// Any other scheme (`mailto:`, `javascript:`, `data:`, `file:`…): not checked.
    Other(String),
}

/// Resolves `href` as the browser would against `base`, the URL path of the page's base URL
/// (`document.baseURI`'s path, such as `/exercises/lesson-1.html`, or `/` under `<base href="/">`).
pub fn resolve(base: &str, href: &str) -> Target {
    let href = href.trim();
    if let Some(scheme) = scheme_of(href) {
        return match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => Target::External(href.to_string()),
            _ => Target::Other(href.to_string()),
        };
    }
    if href.starts_with("//") {
        return Target::External(href.to_string());
    }
    let (rest, fragment) = match href.split_once('#') {
        Some((rest, fragment)) => (rest, Some(percent_decode(fragment))),
        None => (href, None),
    };
    let path = rest.split_once('?').map_or(rest, |(path, _query)| path);
    let joined = if path.is_empty() {
        base.to_string()
    } else if path.starts_with('/') {
        path.to_string()
    } else {
        let dir = base.rfind('/').map_or("/", |slash| &base[..=slash]);
        format!("{dir}{path}")
    };
    match normalize(&joined) {
        Some(path) => Target::Internal {
            path: percent_decode(&path),
            fragment,
        },
        None => Target::OutsideBook,
    }
}

/// The scheme of an absolute URL (`https` in `https://…`), if `href` has one.
fn scheme_of(href: &str) -> Option<&str> {
    let colon = href.find(':')?;
    let scheme = &href[..colon];
    let mut chars = scheme.chars();
    let first_is_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_is_letter && rest_ok).then_some(scheme)
}

/// Removes `.` and `..` segments from an absolute URL path and the leading `/`; `None` when a
/// `..` would climb above the root. A trailing `/` (a folder) is kept.
fn normalize(path: &str) -> Option<String> {
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let last = parts.len() - 1;
    for (i, part) in parts.iter().enumerate() {
        match *part {
            "." => {
                if i == last {
                    segments.push("");
                }
            }
            ".." => {
                segments.pop()?;
                if i == last {
                    segments.push("");
                }
            }
            // An empty segment in the middle (`a//b`) is ignored; at the end it marks a folder.
            "" if i != last => {}
            part => segments.push(part),
        }
    }
    Some(segments.join("/"))
}

/// Decodes `%XX` escapes (as UTF-8); anything malformed is kept as it is.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One start tag of an HTML text: its lower-case name and its attributes, names lower-cased and
/// values with the common character references decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The element's name, lower-cased (`a`, `img`).
    pub name: String,
    /// The attributes in document order; an attribute without a value has `""`.
    pub attributes: Vec<(String, String)>,
}

impl Tag {
    /// The value of attribute `name`, if the tag has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The start tags of an HTML text, skipping comments, doctypes and what is inside `<script>`
/// and `<style>`. A small tokenizer, enough for mdBook's output: no browser needed.
pub fn start_tags(html: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = &rest[name_end..];
        let mut attributes = Vec::new();
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
            if rest.is_empty() {
                break;
            }
            if let Some(after) = rest.strip_prefix('>') {
                rest = after;
                break;
            }
            let attr_end = rest
                .find(|c: char| c.is_ascii_whitespace() || matches!(c, '=' | '>' | '/'))
                .unwrap_or(rest.len())
                .max(1);
            let attr = rest[..attr_end].to_ascii_lowercase();
            rest = rest[attr_end..].trim_start_matches(|c: char| c.is_ascii_whitespace());
            let mut value = String::new();
            if let Some(after) = rest.strip_prefix('=') {
                let after = after.trim_start_matches(|c: char| c.is_ascii_whitespace());
                let (raw, remaining) = match after.chars().next() {
                    Some(quote @ ('"' | '\'')) => {
                        let body = &after[1..];
                        match body.find(quote) {
                            Some(end) => (&body[..end], &body[end + 1..]),
                            None => (body, ""),
                        }
                    }
                    _ => {
                        let end = after
                            .find(|c: char| c.is_ascii_whitespace() || c == '>')
                            .unwrap_or(after.len());
                        (&after[..end], &after[end..])
                    }
                };
                value = decode_entities(raw);
                rest = remaining;
            }
            attributes.push((attr, value));
        }
        if name == "script" || name == "style" {
            let close = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            rest = lower.find(&close).map_or("", |end| &rest[end..]);
        }
        tags.push(Tag { name, attributes });
    }
    tags
}

/// Decodes the character references mdBook writes in attribute values.
fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }
    raw.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every id a `#fragment` can land on in an HTML text: `id` attributes, and `name` on `<a>`.
pub fn ids_in_html(html: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for tag in start_tags(html) {
        if let Some(id) = tag.get("id") {
            ids.insert(id.to_string());
        }
        if tag.name == "a"
            && let Some(name) = tag.get("name")
        {
            ids.insert(name.to_string());
        }
    }
    ids
}

/// Every `href` of an `<a>` or `<area>` in an HTML text, in document order.
pub fn hrefs_in_html(html: &str) -> Vec<String> {
    start_tags(html)
        .into_iter()
        .filter(|tag| tag.name == "a" || tag.name == "area")
        .filter_map(|tag| tag.get("href").map(str::to_string))
        .collect()
}

/// Checks internal targets against the built book on disk, remembering each page's ids.
#[derive(Debug)]
pub struct LinkChecker {
    root: PathBuf,
    ids: HashMap<String, BTreeSet<String>>,
}

impl LinkChecker {
    /// A checker for the built book at `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            ids: HashMap::new(),
        }
    }

    /// Records the ids of page `path` (relative to the root) as the browser saw them in its
    /// DOM, which beats reading the file: scripts may add ids.
    pub fn add_ids(&mut self, path: &str, ids: impl IntoIterator<Item = String>) {
        self.ids.entry(path.to_string()).or_default().extend(ids);
    }

    /// The file a target path names: the path itself, or its `index.html` for a folder.
    /// `None` when neither exists.
    pub fn file_for(&self, path: &str) -> Option<String> {
        let on_disk = self.root.join(path);
        if path.is_empty() || path.ends_with('/') || on_disk.is_dir() {
            let index = format!("{}/index.html", path.trim_end_matches('/'));
            let index = index.trim_start_matches('/').to_string();
            return self.root.join(&index).is_file().then_some(index);
        }
        on_disk.is_file().then(|| path.to_string())
    }

    /// `Ok` when `target` exists, and, for a fragment, the page has an element with that id;
    /// otherwise what is wrong, in words.
    pub fn check(&mut self, path: &str, fragment: Option<&str>) -> Result<(), String> {
        let Some(file) = self.file_for(path) else {
            return Err(format!("no file `{path}` in the book"));
        };
        let Some(fragment) = fragment else {
            return Ok(());
        };
        // `#` alone and `#top` go to the top of a page without any id (HTML's rules).
        if fragment.is_empty() || fragment.eq_ignore_ascii_case("top") {
            return Ok(());
        }
        if !(file.ends_with(".html") || file.ends_with(".htm")) {
            return Ok(());
        }
        if !self.ids.contains_key(&file) {
            let text = std::fs::read_to_string(self.root.join(&file)).unwrap_or_default();
            self.ids.insert(file.clone(), ids_in_html(&text));
        }
        if self.ids[&file].contains(fragment) {
            Ok(())
        } else {
            Err(format!("`{file}` has no element with id `{fragment}`"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal(path: &str, fragment: Option<&str>) -> Target {
        Target::Internal {
            path: path.to_string(),
            fragment: fragment.map(str::to_string),
        }
    }

    #[test]
    fn relative_links_resolve_against_the_pages_folder() {
        let base = "/exercises/lesson-1.html";
        assert_eq!(
            resolve(base, "lesson-2.html"),
            internal("exercises/lesson-2.html", None)
        );
        assert_eq!(
            resolve(base, "./lesson-2.html"),
            internal("exercises/lesson-2.html", None)
        );
        assert_eq!(
            resolve(base, "../lesson-1.html"),
            internal("lesson-1.html", None)
        );
        assert_eq!(
            resolve(base, "../img/lesson-1.svg"),
            internal("img/lesson-1.svg", None)
        );
        assert_eq!(resolve(base, "/setup.html"), internal("setup.html", None));
        assert_eq!(resolve(base, "../"), internal("", None));
        assert_eq!(resolve(base, ".."), internal("", None));
        assert_eq!(resolve(base, "./"), internal("exercises/", None));
        assert_eq!(
            resolve("/index.html", "exercises/"),
            internal("exercises/", None)
        );
    }

    #[test]
    fn fragments_and_queries_are_split_off_and_decoded() {
        let base = "/lesson-3.html";
        assert_eq!(
            resolve(base, "#the-idea"),
            internal("lesson-3.html", Some("the-idea"))
        );
        assert_eq!(resolve(base, "#"), internal("lesson-3.html", Some("")));
        assert_eq!(
            resolve(base, "lesson-4.html?highlight=pool#what-changed"),
            internal("lesson-4.html", Some("what-changed"))
        );
        assert_eq!(
            resolve(base, "go%20wrong.html#caf%C3%A9"),
            internal("go wrong.html", Some("café"))
        );
        // Under `<base href="/">` (mdBook's 404 page) a bare fragment goes to the root.
        assert_eq!(resolve("/", "#x"), internal("", Some("x")));
    }

    #[test]
    fn other_schemes_and_escapes_are_told_apart() {
        let base = "/lesson-1.html";
        assert_eq!(
            resolve(base, "https://doc.rust-lang.org/std/"),
            Target::External("https://doc.rust-lang.org/std/".into())
        );
        assert_eq!(
            resolve(base, "HTTP://example.com"),
            Target::External("HTTP://example.com".into())
        );
        assert_eq!(
            resolve(base, "//example.com/x"),
            Target::External("//example.com/x".into())
        );
        assert_eq!(
            resolve(base, "mailto:a@b.c"),
            Target::Other("mailto:a@b.c".into())
        );
        assert_eq!(
            resolve(base, "javascript:void(0)"),
            Target::Other("javascript:void(0)".into())
        );
        assert_eq!(resolve(base, "../../etc/passwd"), Target::OutsideBook);
        // A colon after a slash is part of a path, not a scheme.
        assert_eq!(resolve(base, "a/b:c.html"), internal("a/b:c.html", None));
    }

    #[test]
    fn percent_decoding_keeps_what_is_malformed() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn ids_and_hrefs_come_from_start_tags_not_scripts_or_comments() {
        let html = r##"<!DOCTYPE html><html><head>
            <script>const s = '<a href="in-script.html" id="no">';</script>
            <style>p::before { content: '<div id="nope">'; }</style></head>
            <body><!-- <a href="commented.html" id="gone"> -->
            <h1 id="the-idea"><a class="header" href="#the-idea">The idea</a></h1>
            <a name=legacy href='../setup.html?x=1&amp;y=2'>setup</a>
            <IMG SRC="img/x.svg" ID="Diagram" alt="a > b">
            <area href="map.html" id=area-1>
            <div data-id="not-an-id" id ="spaced">text with < and > in it</div>
            </body></html>"##;
        let ids: Vec<String> = ids_in_html(html).into_iter().collect();
        assert_eq!(ids, ["Diagram", "area-1", "legacy", "spaced", "the-idea"]);
        assert_eq!(
            hrefs_in_html(html),
            ["#the-idea", "../setup.html?x=1&y=2", "map.html"]
        );
    }

    #[test]
    fn the_checker_finds_missing_files_folders_and_anchors() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("exercises")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("index.html"), r#"<h1 id="intro">x</h1>"#).unwrap();
        std::fs::write(root.join("exercises/index.html"), "<p>x</p>").unwrap();
        std::fs::write(root.join("a.html"), r#"<h2 id="from-file">x</h2>"#).unwrap();
        std::fs::write(root.join("pic.svg"), "<svg/>").unwrap();
        let mut checker = LinkChecker::new(root);

        assert_eq!(checker.check("", None), Ok(()));
        assert_eq!(checker.check("", Some("intro")), Ok(()));
        assert_eq!(checker.check("exercises/", None), Ok(()));
        assert_eq!(checker.check("exercises", None), Ok(()));
        assert_eq!(checker.check("pic.svg", Some("anything")), Ok(()));
        assert_eq!(checker.check("a.html", Some("from-file")), Ok(()));
        assert_eq!(checker.check("a.html", Some("")), Ok(()));
        assert_eq!(checker.check("a.html", Some("top")), Ok(()));
        assert_eq!(
            checker.check("a.html", Some("missing")),
            Err("`a.html` has no element with id `missing`".into())
        );
        assert_eq!(
            checker.check("b.html", None),
            Err("no file `b.html` in the book".into())
        );
        assert_eq!(
            checker.check("empty/", None),
            Err("no file `empty/` in the book".into())
        );

        // Ids the browser saw in the DOM count as well as the file's.
        checker.add_ids("index.html", ["made-by-a-script".to_string()]);
        assert_eq!(checker.check("", Some("made-by-a-script")), Ok(()));
    }
}

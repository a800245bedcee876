//! Checks the built book in a real headless Chromium, as a reader would meet it.
//!
//! Every `.html` page of `book/book` is served on a loopback port and opened in turn: it must
//! open with no console error and no uncaught exception, every `<img>` must load, and every
//! internal link must reach a file of the book and, for a `#fragment`, an element with that id.
//! External links are listed, never fetched. On each lesson chapter (`lesson-N.html`) a word
//! from the chapter's own text is typed into mdBook's search, whose results must list that
//! chapter, and a screenshot of the top of the chapter is saved.
//!
//! Run it as `.ci/run` does: `cargo run -q --release -p book-check -- book/book`.

pub mod links;
pub mod server;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Log::LogEntryLevel;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::protocol::cdp::Runtime::{ConsoleAPICalledEventTypeOption, RemoteObject};
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::{Browser, LaunchOptions, Tab};

use links::{LinkChecker, Target};

/// The Chromium used when `$CHROMIUM` is not set: Debian's package.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The browser window's size; screenshots are of the top of a page at this size.
pub const WINDOW: (u32, u32) = (1200, 900);

/// What to check, and with which browser.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Chromium binary to run.
    pub chromium: PathBuf,
    /// Where to write a PNG of each lesson chapter; `None` for no screenshots.
    pub screenshots: Option<PathBuf>,
    /// Whether to search for a word of each lesson chapter in mdBook's search box. A book with
    /// none of them is then a problem, so the check cannot pass by finding nothing to search.
    pub search: bool,
}

/// One thing wrong with one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The page, relative to the book's root (`exercises/lesson-1.html`).
    pub page: String,
    /// What is wrong, in words.
    pub what: String,
}

/// What a run checked, and what it found.
#[derive(Debug, Default)]
pub struct Report {
    /// Pages opened in the browser.
    pub pages: usize,
    /// `<img>` elements checked.
    pub images: usize,
    /// Internal links checked (each occurrence on each page).
    pub links: usize,
    /// Searches made, one per lesson chapter: (page, word).
    pub searches: Vec<(String, String)>,
    /// External links, never fetched, with the pages that have them.
    pub external: BTreeMap<String, BTreeSet<String>>,
    /// Screenshots written.
    pub screenshots: Vec<PathBuf>,
    /// Everything wrong, page by page.
    pub problems: Vec<Problem>,
    /// What was left unchecked, and why, page by page.
    pub skipped: Vec<Problem>,
}

/// Every `.html` file under `root`, as sorted paths relative to it with `/` separators.
pub fn html_pages(root: &Path) -> std::io::Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, pages: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, pages)?;
            } else if path.extension().is_some_and(|e| e == "html") {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                pages.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut pages = Vec::new();
    walk(root, root, &mut pages)?;
    pages.sort_by_key(|page| (page.matches('/').count(), lesson_number(page), page.clone()));
    Ok(pages)
}

/// `Some(N)` for a lesson chapter, `lesson-N.html` at the book's root.
pub fn lesson_number(page: &str) -> Option<u32> {
    page.strip_prefix("lesson-")?
        .strip_suffix(".html")?
        .parse()
        .ok()
}

/// Words that mdBook's search (elasticlunr) drops as stop words, of the length picked here.
const STOP_WORDS: &[&str] = &[
    "across", "almost", "because", "cannot", "either", "however", "likely", "neither", "rather",
    "should",
];

/// The words of a text that a search could be asked for: whitespace-separated, punctuation
/// trimmed from their ends, ASCII letters only, at least six of them, lower-cased.
pub fn search_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace()
        .map(|word| word.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|word| word.len() >= 6 && word.chars().all(|c| c.is_ascii_alphabetic()))
        .map(str::to_ascii_lowercase)
        .filter(|word| !STOP_WORDS.contains(&word.as_str()))
}

/// A distinctive word of `text` to search for: the one on the fewest of the `others` pages,
/// then the most frequent in `text`, then the longest, then the first alphabetically.
pub fn pick_search_word<'a>(
    text: &str,
    others: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in search_words(text) {
        *counts.entry(word).or_default() += 1;
    }
    let mut pages_with: HashMap<&str, usize> = counts.keys().map(|w| (w.as_str(), 0)).collect();
    for other in others {
        let words: BTreeSet<String> = search_words(other).collect();
        for word in &words {
            if let Some(n) = pages_with.get_mut(word.as_str()) {
                *n += 1;
            }
        }
    }
    counts
        .iter()
        .min_by_key(|(word, count)| {
            (
                pages_with[word.as_str()],
                std::cmp::Reverse(**count),
                std::cmp::Reverse(word.len()),
                word.as_str(),
            )
        })
        .map(|(word, _)| word.clone())
}

/// A console error, a failed load the browser logged, or an uncaught exception.
#[derive(Debug, Clone)]
struct ConsoleError {
    text: String,
    url: Option<String>,
}

/// What the browser saw on one page.
#[derive(Debug, Default)]
struct PageData {
    base: String,
    /// `(src attribute, absolute URL, loaded)`.
    images: Vec<(String, String, bool)>,
    hrefs: Vec<String>,
    ids: Vec<String>,
    text: String,
}

/// Waits for the page's `load`, then for every image to load or fail, and reports what the
/// DOM holds, as JSON; `""` while the tab still shows the page it is leaving, which `open`
/// marks with `window.bookCheckLeaving`.
const PAGE_JS: &str = r#"(async () => {
  if (window.bookCheckLeaving) return '';
  if (document.readyState !== 'complete') {
    await new Promise(r => window.addEventListener('load', r, { once: true }));
  }
  const images = Array.from(document.images);
  for (const img of images) { if (img.loading === 'lazy') img.loading = 'eager'; }
  await Promise.all(images.map(img => img.complete ? null : new Promise(r => {
    img.addEventListener('load', r, { once: true });
    img.addEventListener('error', r, { once: true });
    setTimeout(r, 5000);
  })));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const main = document.querySelector('main') || document.body;
  return JSON.stringify({
    base: new URL(document.baseURI).pathname,
    images: images.map(i => [i.getAttribute('src') || '', i.currentSrc || i.src,
                             i.complete && i.naturalWidth > 0]),
    hrefs: Array.from(document.querySelectorAll('a[href], area[href]'))
      .map(a => a.getAttribute('href')),
    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id)
      .concat(Array.from(document.querySelectorAll('a[name]')).map(a => a.name)),
    text: main ? main.innerText : '',
  });
})()"#;

/// mdBook's search: the results' page paths and the header line, once the header has text.
const SEARCH_RESULTS_JS: &str = r#"JSON.stringify({
  focused: document.activeElement ? document.activeElement.id : '',
  header: (document.getElementById('mdbook-searchresults-header') || {}).innerText || '',
  results: Array.from(document.querySelectorAll('#mdbook-searchresults a'))
    .map(a => new URL(a.href).pathname),
})"#;

/// Starts Chromium as the checks need it: headless, no sandbox (CI runs as root), no GPU, no
/// background networking, a fresh profile in `profile`.
fn launch(chromium: &Path, profile: &Path) -> Result<Browser, String> {
    let extra = [
        OsStr::new("--disable-background-networking"),
        OsStr::new("--hide-scrollbars"),
        OsStr::new("--mute-audio"),
    ];
    let options = LaunchOptions::default_builder()
        .path(Some(chromium.to_path_buf()))
        .headless(true)
        .sandbox(false)
        .enable_gpu(false)
        .window_size(Some(WINDOW))
        .user_data_dir(Some(profile.to_path_buf()))
        .idle_browser_timeout(Duration::from_secs(300))
        .args(extra.to_vec())
        .build()
        .map_err(|e| format!("bad launch options: {e}"))?;
    Browser::new(options).map_err(|e| format!("could not start {}: {e}", chromium.display()))
}

/// The text of a console call's arguments, as the console would print them.
fn console_text(args: &[RemoteObject]) -> String {
    args.iter()
        .map(|arg| match (&arg.value, &arg.description) {
            (Some(serde_json::Value::String(s)), _) => s.clone(),
            (Some(value), _) => value.to_string(),
            (None, Some(description)) => description.clone(),
            (None, None) => format!("{:?}", arg.Type),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Collects console errors, failed loads and uncaught exceptions of `tab` into `sink`.
fn listen(tab: &Tab, sink: Arc<Mutex<Vec<ConsoleError>>>) -> Result<(), String> {
    tab.enable_log().map_err(|e| e.to_string())?;
    tab.enable_runtime().map_err(|e| e.to_string())?;
    let listener = move |event: &Event| {
        let error = match event {
            Event::LogEntryAdded(e) if matches!(e.params.entry.level, LogEntryLevel::Error) => {
                let entry = &e.params.entry;
                Some(ConsoleError {
                    text: entry.text.clone(),
                    url: entry.url.clone(),
                })
            }
            Event::RuntimeConsoleAPICalled(e)
                if matches!(
                    e.params.Type,
                    ConsoleAPICalledEventTypeOption::Error
                        | ConsoleAPICalledEventTypeOption::Assert
                ) =>
            {
                Some(ConsoleError {
                    text: format!("console.error: {}", console_text(&e.params.args)),
                    url: None,
                })
            }
            Event::RuntimeExceptionThrown(e) => {
                let details = &e.params.exception_details;
                // The description's first line; the rest is the stack, `at` says where.
                let text = details
                    .exception
                    .as_ref()
                    .and_then(|x| x.description.as_deref())
                    .and_then(|d| d.lines().next())
                    .unwrap_or(&details.text)
                    .to_string();
                let at = details
                    .url
                    .as_ref()
                    .map(|url| format!(" at {url}:{}", details.line_number + 1))
                    .unwrap_or_default();
                Some(ConsoleError {
                    text: format!("uncaught exception: {text}{at}"),
                    url: None,
                })
            }
            _ => None,
        };
        if let Some(error) = error {
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(error);
        }
    };
    tab.add_event_listener(Arc::new(listener))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The console errors worth reporting, one line each: not the failed loads of `broken` images
/// (reported as images), nor the browser's own try at `favicon` (`/favicon.ico`), which it
/// makes on a page with no icon of its own, such as mdBook's toc.html, the sidebar for readers
/// without JavaScript.
fn console_problems(
    errors: Vec<ConsoleError>,
    broken: &BTreeSet<String>,
    favicon: &str,
) -> Vec<String> {
    errors
        .into_iter()
        .filter(|error| {
            !error
                .url
                .as_ref()
                .is_some_and(|url| broken.contains(url) || url == favicon)
        })
        .map(|error| {
            let at = error.url.map(|url| format!(" ({url})")).unwrap_or_default();
            format!("{}{at}", error.text)
        })
        .collect()
}

/// Opens `url` and waits until its images have settled. (Not `wait_until_navigated`, which
/// waits for half a second of network quiet on every page.)
fn open(tab: &Tab, url: &str) -> Result<PageData, String> {
    // Marks the page being left, so that reading it by mistake is noticed.
    let _ = tab.evaluate("window.bookCheckLeaving = true", false);
    tab.navigate_to(url)
        .map_err(|e| format!("did not open: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let json = loop {
        // Fails while the old page's context is torn down; then it is simply asked again.
        let result = tab.evaluate(PAGE_JS, true);
        match result {
            Ok(object) => match object.value {
                Some(serde_json::Value::String(json)) if !json.is_empty() => break json,
                Some(serde_json::Value::String(_)) => {}
                other => return Err(format!("could not be read: got {other:?}")),
            },
            Err(e) if Instant::now() > deadline => {
                return Err(format!("did not finish loading in 20 s: {e}"));
            }
            Err(_) => {}
        }
        if Instant::now() > deadline {
            return Err("did not open in 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let value: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("could not be read: {e}"))?;
    let strings = |key: &str| -> Vec<String> {
        value[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let images = value["images"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    (
                        item[0].as_str().unwrap_or_default().to_string(),
                        item[1].as_str().unwrap_or_default().to_string(),
                        item[2].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(PageData {
        base: value["base"].as_str().unwrap_or("/").to_string(),
        images,
        hrefs: strings("hrefs"),
        ids: strings("ids"),
        text: value["text"].as_str().unwrap_or_default().to_string(),
    })
}

/// Opens mdBook's search with the `s` key, types `word`, and returns the pages of the results
/// (URL paths such as `/lesson-3.html`).
fn search(tab: &Tab, word: &str) -> Result<Vec<String>, String> {
    let read = || -> Result<serde_json::Value, String> {
        let result = tab
            .evaluate(SEARCH_RESULTS_JS, false)
            .map_err(|e| e.to_string())?;
        let json = result
            .value
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        serde_json::from_str(&json).map_err(|e| e.to_string())
    };
    let wait = |what: &str, done: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = read()?;
            if done(&state) {
                return Ok(state);
            }
            if Instant::now() > deadline {
                return Err(format!("{what} (after 10 s: {state})"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    tab.press_key("s").map_err(|e| e.to_string())?;
    wait("the `s` key did not open the search bar", &|state| {
        state["focused"] == "mdbook-searchbar"
    })?;
    // All but the last letter go in as text, and the last as a real key press: mdBook searches
    // on each key's `keyup`, and searching every prefix of the word costs seconds.
    let split = word.len() - word.chars().last().map_or(0, char::len_utf8);
    let (start, last) = word.split_at(split);
    tab.send_character(start)
        .and_then(|tab| tab.press_key(last))
        .map_err(|e| e.to_string())?;
    let state = wait("the search showed no results header", &|state| {
        state["header"].as_str().is_some_and(|h| !h.is_empty())
    })?;
    Ok(state["results"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// Copies the folder `from` into `to`, which exists, with everything under it.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Checks the built book at `book`. `Err` only when the check could not run at all (no
/// browser, no pages); everything wrong with the book is a [`Problem`] in the report.
///
/// The book is checked in a copy taken first: an `mdbook build` or `mdbook serve` that rewrites
/// the folder meanwhile (with new hashes in the names of its scripts) cannot break the run.
pub fn check_book(book: &Path, options: &Options) -> Result<Report, String> {
    let copy = tempfile::Builder::new()
        .prefix("book-check-book")
        .tempdir()
        .map_err(|e| format!("cannot make a folder for a copy of the book: {e}"))?;
    copy_dir(book, copy.path()).map_err(|e| format!("cannot copy {}: {e}", book.display()))?;
    let root = copy.path();
    let pages = html_pages(root).map_err(|e| format!("cannot list {}: {e}", book.display()))?;
    if pages.is_empty() {
        return Err(format!("no .html pages in {}", book.display()));
    }
    let server = server::Server::start(root).map_err(|e| format!("cannot serve the book: {e}"))?;
    let profile = tempfile::Builder::new()
        .prefix("book-check-profile")
        .tempdir()
        .map_err(|e| format!("cannot make a browser profile folder: {e}"))?;
    let browser = launch(&options.chromium, profile.path())?;
    let tab = browser
        .new_tab()
        .map_err(|e| format!("cannot open a tab: {e}"))?;
    tab.set_default_timeout(Duration::from_secs(20));
    let sink = Arc::new(Mutex::new(Vec::new()));
    listen(&tab, Arc::clone(&sink))?;
    let take_errors = || std::mem::take(&mut *sink.lock().unwrap_or_else(|p| p.into_inner()));

    let mut report = Report::default();
    let problem = |report: &mut Report, page: &str, what: String| {
        report.problems.push(Problem {
            page: page.to_string(),
            what,
        });
    };
    if let Some(dir) = &options.screenshots {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    }

    // The failed loads of broken images, already reported as the images.
    let mut broken = BTreeSet::new();
    let favicon = format!("{}favicon.ico", server.url());
    let mut seen: Vec<(String, PageData)> = Vec::new();
    let mut checker = LinkChecker::new(root);
    for page in &pages {
        take_errors();
        let url = format!("{}{page}", server.url());
        let data = match open(&tab, &url) {
            Ok(data) => data,
            Err(what) => {
                problem(&mut report, page, what);
                continue;
            }
        };
        report.pages += 1;
        for (src, absolute, loaded) in &data.images {
            report.images += 1;
            if !loaded {
                broken.insert(absolute.clone());
                problem(&mut report, page, format!("image `{src}` did not load"));
            }
        }
        for what in console_problems(take_errors(), &broken, &favicon) {
            problem(&mut report, page, format!("console: {what}"));
        }
        if let (Some(dir), Some(n)) = (&options.screenshots, lesson_number(page)) {
            let file = dir.join(format!("lesson-{n}.png"));
            let png = tab
                .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
                .map_err(|e| e.to_string())
                .and_then(|png| std::fs::write(&file, png).map_err(|e| e.to_string()));
            match png {
                Ok(()) => report.screenshots.push(file),
                Err(e) => problem(&mut report, page, format!("no screenshot: {e}")),
            }
        }
        checker.add_ids(page, data.ids.iter().cloned());
        seen.push((page.clone(), data));
    }

    for (page, data) in &seen {
        let mut reported = BTreeSet::new();
        // Under a `<base href>` that is not the page itself (mdBook's 404.html has
        // `<base href="/">`, so that it works at any depth), a bare `#fragment` goes to the base
        // page: the heading's own link on a 404 page. Those are listed, not checked.
        let based_elsewhere = links::percent_decode(data.base.trim_start_matches('/')) != *page;
        let mut own_fragments = Vec::new();
        for href in &data.hrefs {
            if based_elsewhere && href.starts_with('#') {
                own_fragments.push(href.as_str());
                continue;
            }
            match links::resolve(&data.base, href) {
                Target::External(url) => {
                    report.external.entry(url).or_default().insert(page.clone());
                }
                Target::Other(_) => {}
                Target::OutsideBook => {
                    report.links += 1;
                    if reported.insert(href.clone()) {
                        problem(
                            &mut report,
                            page,
                            format!("link `{href}` points outside the book"),
                        );
                    }
                }
                Target::Internal { path, fragment } => {
                    report.links += 1;
                    if let Err(what) = checker.check(&path, fragment.as_deref())
                        && reported.insert(href.clone())
                    {
                        problem(&mut report, page, format!("link `{href}`: {what}"));
                    }
                }
            }
        }
        if !own_fragments.is_empty() {
            report.skipped.push(Problem {
                page: page.clone(),
                what: format!(
                    "links {} not checked: the page's <base href=\"{}\"> sends them to that page",
                    own_fragments.join(", "),
                    data.base
                ),
            });
        }
    }

    if options.search {
        let lessons: Vec<&(String, PageData)> = seen
            .iter()
            .filter(|(page, _)| lesson_number(page).is_some())
            .collect();
        if lessons.is_empty() {
            problem(
                &mut report,
                "(book)",
                "no lesson chapter (lesson-N.html) to search for".into(),
            );
        }
        let lessons_count = lessons.len();
        for (page, data) in lessons {
            // Pages that repeat every chapter's words would make no word distinctive.
            let others = seen
                .iter()
                .filter(|(other, _)| {
                    other != page && !matches!(other.as_str(), "print.html" | "toc.html")
                })
                .map(|(_, data)| data.text.as_str());
            let Some(word) = pick_search_word(&data.text, others) else {
                problem(
                    &mut report,
                    page,
                    "no word of six letters to search for".into(),
                );
                continue;
            };
            take_errors();
            let url = format!("{}{page}", server.url());
            let found = open(&tab, &url).and_then(|_| search(&tab, &word));
            for what in console_problems(take_errors(), &broken, &favicon) {
                problem(
                    &mut report,
                    page,
                    format!("console while searching: {what}"),
                );
            }
            report.searches.push((page.clone(), word.clone()));
            match found {
                Ok(results) if results.iter().any(|r| r == &format!("/{page}")) => {}
                Ok(results) => {
                    let listed: BTreeSet<&str> = results.iter().map(String::as_str).collect();
                    problem(
                        &mut report,
                        page,
                        format!(
                            "searching for `{word}` does not list this chapter (results: {})",
                            if listed.is_empty() {
                                "none".to_string()
                            } else {
                                listed.into_iter().collect::<Vec<_>>().join(", ")
                            }
                        ),
                    );
                }
                Err(what) => {
                    problem(&mut report, page, format!("searching for `{word}`: {what}"));
                    // The search itself is broken (its index did not load, say): waiting out
                    // the same time limit on every other chapter would tell nothing new.
                    let left = lessons_count - report.searches.len();
                    if left > 0 {
                        report.skipped.push(Problem {
                            page: page.clone(),
                            what: format!("the search of the {left} chapters after this one"),
                        });
                    }
                    break;
                }
            }
        }
    }
    // Page by page, in the order they were opened; problems of the whole book first.
    let order: HashMap<&str, usize> = pages
        .iter()
        .enumerate()
        .map(|(i, page)| (page.as_str(), i + 1))
        .collect();
    let rank = |page: &str| order.get(page).copied().unwrap_or(0);
    report.problems.sort_by_key(|p| rank(&p.page));
    report.skipped.sort_by_key(|p| rank(&p.page));
    drop(tab);
    drop(browser);
    drop(server);
    // The browser's helper processes may still be writing to the profile for a moment after
    // it is stopped; a folder they refill is removed again.
    for _ in 0..30 {
        if std::fs::remove_dir_all(profile.path()).is_ok() || !profile.path().exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lesson_chapters_are_told_by_their_file_name() {
        assert_eq!(lesson_number("lesson-1.html"), Some(1));
        assert_eq!(lesson_number("lesson-11.html"), Some(11));
        assert_eq!(lesson_number("exercises/lesson-1.html"), None);
        assert_eq!(lesson_number("lesson-x.html"), None);
        assert_eq!(lesson_number("lessons.html"), None);
    }

    #[test]
    fn the_search_word_is_the_rarest_elsewhere_then_the_most_used_here() {
        let chapter = "A supervisor restarts workers. The supervisor, (supervisor!) watches; \
                       workers, channels and the heartbeat.";
        let others = ["workers and channels", "workers everywhere, a heartbeat"];
        assert_eq!(
            pick_search_word(chapter, others).as_deref(),
            Some("supervisor")
        );
        // Short words, code-like tokens and stop words are never picked.
        assert_eq!(pick_search_word("a b_c d::e should x1y2z3", []), None);
        assert_eq!(
            search_words("“Quoted,” ‘curly’ — worker’s mutex_guard Arc::new Worker.")
                .collect::<Vec<_>>(),
            ["quoted", "worker"]
        );
    }

    #[test]
    fn pages_come_root_first_with_lessons_in_number_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("exercises")).unwrap();
        for page in [
            "lesson-10.html",
            "lesson-2.html",
            "index.html",
            "exercises/lesson-1.html",
            "style.css",
        ] {
            std::fs::write(dir.path().join(page), "").unwrap();
        }
        assert_eq!(
            html_pages(dir.path()).unwrap(),
            [
                "index.html",
                "lesson-2.html",
                "lesson-10.html",
                "exercises/lesson-1.html"
            ]
        );
    }
}

//! The inspector page in a real headless Chromium, driven through chromedriver with fantoccini.
//!
//! Only one browser runs at a time in the whole test process (a process-wide async mutex), because the machine
//! is small and shared. Without Chromium and chromedriver the browser tests say so loudly and pass; with
//! `HOOKSCOPE_REQUIRE_BROWSER=1` (set in CI) a missing browser fails them.

mod forward;
mod harness;
mod page;
mod profiles;
mod screenshots;
mod signatures;

/// The page's script must never turn captured text into markup or code: every `.js` file in every folder under
/// `static/` (the script is a set of ES modules) is checked.
#[test]
fn app_js_uses_no_html_or_code_sinks() {
    fn scripts_under(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("folder under static/ is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                scripts_under(&path, found);
            } else if path.extension().is_some_and(|extension| extension == "js") {
                found.push(path);
            }
        }
    }
    let static_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
    let mut scripts = Vec::new();
    scripts_under(&static_dir, &mut scripts);
    for path in &scripts {
        let source = std::fs::read_to_string(path).expect("script is UTF-8");
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setAttribute(\"style\"",
            "setAttribute('style'",
            "createContextualFragment",
            "DOMParser",
        ] {
            assert!(!source.contains(sink), "{} uses {sink}", path.display());
        }
    }
    assert!(
        scripts.len() > 1,
        "the page's script is several modules under static/, found {scripts:?}"
    );
}

/// The CSP forbids inline scripts and inline styles, so the template must carry neither.
#[test]
fn template_has_no_inline_script_or_style() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/index.html");
    let html = std::fs::read_to_string(path).expect("template");
    assert!(!html.contains("style="), "no style attributes");
    assert!(!html.contains("<style"), "no style blocks");
    for (at, _) in html.match_indices("<script") {
        let tag_end = html[at..].find('>').expect("script tag ends") + at;
        assert!(html[at..tag_end].contains("src="), "every script is an external file");
        assert!(html[tag_end..].starts_with("></script>"), "script tags are empty");
    }
    for handler in [" onclick=", " onload=", " onerror=", "javascript:"] {
        assert!(!html.contains(handler), "no inline handler {handler}");
    }
}

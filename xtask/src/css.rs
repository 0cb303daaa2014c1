//! The stylesheet as browsers get it: minified, and with newer syntax (nesting, for one)
//! rewritten for the oldest browsers we support.

use anyhow::{Result, anyhow};
use lightningcss::stylesheet::{MinifyOptions, ParserOptions, PrinterOptions, StyleSheet};
use lightningcss::targets::{Browsers, Targets};

/// The oldest browsers of browserslist's `defaults` query (which cargo-leptos used), named
/// here instead of computed: that needs browserslist's data, compiled in. Firefox ESR 115,
/// Safari 16.4 (the last release for older iPhones), Chrome and Edge 111. Versions are
/// `major << 16 | minor << 8`.
fn targets() -> Targets {
    let v = |major: u32, minor: u32| Some((major << 16) | (minor << 8));
    Targets::from(Browsers {
        chrome: v(111, 0),
        edge: v(111, 0),
        firefox: v(115, 0),
        safari: v(16, 4),
        ios_saf: v(16, 4),
        ..Browsers::default()
    })
}

pub fn minify(file: &str, css: &str) -> Result<String> {
    let mut sheet = StyleSheet::parse(
        css,
        ParserOptions {
            filename: file.to_string(),
            ..ParserOptions::default()
        },
    )
    .map_err(|e| anyhow!("{file}: {e}"))?;
    sheet
        .minify(MinifyOptions {
            targets: targets(),
            ..MinifyOptions::default()
        })
        .map_err(|e| anyhow!("{file}: {e}"))?;
    let out = sheet
        .to_css(PrinterOptions {
            minify: true,
            targets: targets(),
            ..PrinterOptions::default()
        })
        .map_err(|e| anyhow!("{file}: {e}"))?;
    Ok(out.code)
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(clippy::unwrap_used)]
    fn nesting_is_flattened_and_space_goes() {
        let out =
            super::minify("t.css", ".a {\n  color: red;\n  & .b { color: blue; }\n}\n").unwrap();
        assert_eq!(out, ".a{color:red}.a .b{color:#00f}");
    }

    #[test]
    fn broken_css_names_the_file() {
        let err = super::minify("style/main.css", ".a { color: red; ").err();
        // lightningcss accepts an unclosed block (as browsers do); a stray brace it does not.
        let err = err.or_else(|| super::minify("style/main.css", "}} .a {").err());
        assert!(err.is_some_and(|e| e.to_string().contains("style/main.css")));
    }
}

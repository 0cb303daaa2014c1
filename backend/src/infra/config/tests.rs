use super::*;
use std::collections::HashMap;

fn lookup(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| env.get(k).cloned())
}

#[test]
fn scan_settings_are_checked() {
    assert_eq!(
        parse_duration("6h"),
        Some(std::time::Duration::from_secs(21_600))
    );
    assert_eq!(
        parse_duration("90"),
        Some(std::time::Duration::from_secs(90))
    );
    assert_eq!(parse_duration("30s"), None);
    assert_eq!(parse_duration("5 parsecs"), None);
    let e = lookup(&[("REFRAIN_LIBRARY_DIRS", "/srv/music:relative/path")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_LIBRARY_DIRS");
    let c = lookup(&[
        ("REFRAIN_LIBRARY_DIRS", "/srv/music: /mnt/more "),
        ("REFRAIN_SCAN_INTERVAL", "2h"),
    ])
    .unwrap();
    assert_eq!(
        c.library.dirs,
        vec![PathBuf::from("/srv/music"), PathBuf::from("/mnt/more")]
    );
    assert_eq!(
        c.library.scan_interval,
        Some(std::time::Duration::from_secs(7200))
    );
    assert!(c.library.allow_roots.is_empty());
    let e = lookup(&[("REFRAIN_LIBRARY_ALLOW_ROOTS", "/srv:music")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_LIBRARY_ALLOW_ROOTS");
    let c = lookup(&[("REFRAIN_LIBRARY_ALLOW_ROOTS", "/srv/music:/mnt")]).unwrap();
    assert_eq!(
        c.library.allow_roots,
        vec![PathBuf::from("/srv/music"), PathBuf::from("/mnt")]
    );
    let e = lookup(&[("REFRAIN_SCAN_INTERVAL", "soon")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_SCAN_INTERVAL");
    assert!(e.message.contains("6h"), "{}", e.message);
}

#[test]
fn bad_values_name_the_variable() {
    let e = lookup(&[("REFRAIN_PORT", "eighty")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_PORT");
    assert!(e.message.contains("eighty"), "{}", e.message);
    for var in [
        "REFRAIN_REQUEST_TIMEOUT_SECS",
        "REFRAIN_MAX_CONNECTIONS",
        "REFRAIN_BREAKER_FAILURES",
        "REFRAIN_RENDITIONS_PER_MINUTE",
        "REFRAIN_SIGNUPS_PER_ADDRESS",
        "REFRAIN_MAX_EVENT_ATTEMPTS",
    ] {
        let e = lookup(&[(var, "0")]).unwrap_err();
        assert_eq!(e.var, var);
        assert_eq!(e.message, "must be at least 1");
    }
    let e = lookup(&[("REFRAIN_EMAIL_VERIFICATION", "sometimes")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_EMAIL_VERIFICATION");
    let e = lookup(&[("REFRAIN_METRICS_TOKEN", "short")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_METRICS_TOKEN");
    let e = lookup(&[("REFRAIN_SMTP_URL", "mail.example.com")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_SMTP_URL");
    let e = lookup(&[("REFRAIN_LOG_FORMAT", "xml")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_LOG_FORMAT");
    // An alias is named as it was given.
    let e = lookup(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_DATABASE_URL");
    let e = lookup(&[("REFRAIN_TRUSTED_PROXIES", "10.0.0.0/99")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_TRUSTED_PROXIES");
}

#[test]
fn settings_come_from_files_and_aliases() {
    let dir = std::env::temp_dir().join(format!("refrain-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "a-long-metrics-token-from-a-file\n").unwrap();
    let c = lookup(&[
        ("REFRAIN_METRICS_TOKEN_FILE", file.to_str().unwrap()),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("LEPTOS_SITE_ROOT", "/srv/site"),
    ])
    .unwrap();
    assert_eq!(
        c.telemetry.metrics_token,
        Some(Redacted("a-long-metrics-token-from-a-file".into()))
    );
    assert_eq!(c.redis.url.as_deref(), Some("redis://127.0.0.1:6379"));
    assert_eq!(c.server.site_root, PathBuf::from("/srv/site"));
    let e = lookup(&[("REFRAIN_SECRET_KEY_FILE", "/nonexistent/refrain-key")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_SECRET_KEY_FILE");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn s3_storage_needs_credentials_and_hides_the_secret() {
    let e = lookup(&[("REFRAIN_STORAGE_URL", "s3://media")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_S3_ACCESS_KEY_ID");
    let c = lookup(&[
        ("REFRAIN_STORAGE_URL", "s3://media"),
        ("REFRAIN_S3_ENDPOINT", "http://127.0.0.1:3900"),
        ("REFRAIN_S3_ACCESS_KEY_ID", "GK1"),
        ("REFRAIN_S3_SECRET_ACCESS_KEY", "very-secret"),
    ])
    .unwrap();
    let s3 = c.storage.s3.clone().unwrap();
    assert!(s3.path_style);
    assert_eq!(s3.bucket, "media");
    assert!(!format!("{c:?}").contains("very-secret"));
}

#[test]
fn kafka_moves_the_handlers_out_of_the_server() {
    let c = lookup(&[("REFRAIN_KAFKA_BROKERS", "127.0.0.1:9092")]).unwrap();
    assert!(!c.events.embedded_worker);
    assert_eq!(c.events.kafka.unwrap().topic("imports"), "refrain.imports");
    let e = lookup(&[
        ("REFRAIN_KAFKA_BROKERS", "127.0.0.1:9092"),
        ("REFRAIN_EMBEDDED_WORKER", "true"),
    ])
    .unwrap_err();
    assert_eq!(e.var, "REFRAIN_EMBEDDED_WORKER");
    assert!(lookup(&[]).unwrap().events.embedded_worker);
}

#[test]
fn single_sign_on_settings_are_checked() {
    let e = lookup(&[("REFRAIN_OIDC_ISSUER", "http://id.example.com")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_OIDC_ISSUER");
    let e = lookup(&[("REFRAIN_OIDC_ISSUER", "https://id.example.com/")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_OIDC_CLIENT_ID");
    let base = [
        (
            "REFRAIN_OIDC_ISSUER",
            "https://id.example.com/realms/music/",
        ),
        ("REFRAIN_OIDC_CLIENT_ID", "refrain"),
        ("REFRAIN_OIDC_CLIENT_SECRET", "s3cret-value"),
    ];
    let e = lookup(&[
        base[0],
        base[1],
        base[2],
        ("REFRAIN_OIDC_SCOPES", "openid profile"),
    ])
    .unwrap_err();
    assert_eq!(e.var, "REFRAIN_OIDC_SCOPES");
    let e = lookup(&[("REFRAIN_GOOGLE_CLIENT_ID", "x.apps.googleusercontent.com")]).unwrap_err();
    assert_eq!(e.var, "REFRAIN_GOOGLE_CLIENT_SECRET");
    let c = lookup(&[
        base[0],
        base[1],
        base[2],
        ("REFRAIN_GOOGLE_CLIENT_ID", "x.apps.googleusercontent.com"),
        ("REFRAIN_GOOGLE_CLIENT_SECRET", "g-secret"),
    ])
    .unwrap();
    let providers = &c.sso.providers;
    assert_eq!(providers.len(), 2);
    assert_eq!(providers[0].issuer, "https://id.example.com/realms/music");
    assert_eq!(providers[0].name, "id.example.com");
    assert_eq!(providers[1].issuer, "https://accounts.google.com");
    assert!(!c.sso.auto_link && !c.sso.trust_mfa);
    let printed = format!("{c:?}");
    assert!(!printed.contains("s3cret-value") && !printed.contains("g-secret"));
    let c = lookup(&[
        ("REFRAIN_OIDC_ISSUER", "http://127.0.0.1:3400"),
        base[1],
        base[2],
    ])
    .unwrap();
    assert_eq!(c.sso.providers[0].issuer, "http://127.0.0.1:3400");
}

#[test]
fn upload_limit_in_megabytes() {
    let c = lookup(&[("REFRAIN_MAX_UPLOAD_MB", "3"), ("REFRAIN_DATA_DIR", "/d")]).unwrap();
    assert_eq!(c.storage.max_upload_bytes, 3 * 1024 * 1024);
    assert_eq!(c.storage.storage_dir, PathBuf::from("/d/objects"));
    assert_eq!(c.database.url, "sqlite:///d/refrain.db?mode=rwc");
    let c = lookup(&[("REFRAIN_MAX_UPLOAD_BYTES", "1000")]).unwrap();
    assert_eq!(c.storage.max_upload_bytes, 1000);
}

/// A secret setting never shows in the configuration's debug output.
#[test]
fn secrets_are_never_printed() {
    let mut pairs = vec![
        ("REFRAIN_STORAGE_URL", "s3://media".to_string()),
        ("REFRAIN_S3_ACCESS_KEY_ID", "GK1".to_string()),
        ("REFRAIN_OIDC_ISSUER", "https://id.example.com".to_string()),
        ("REFRAIN_OIDC_CLIENT_ID", "refrain".to_string()),
        ("REFRAIN_GOOGLE_CLIENT_ID", "g".to_string()),
    ];
    let secrets: Vec<&Setting> = sections()
        .iter()
        .flat_map(|(_, s)| s.iter())
        .filter(|s| s.secret)
        .collect();
    assert!(secrets.len() >= 6, "{secrets:?}");
    for s in &secrets {
        let value = match s.var {
            "REFRAIN_SECRET_KEY" => "5".repeat(64),
            "REFRAIN_SMTP_URL" => "smtp://user:hidden-password@mail:25".into(),
            v => format!("hidden-value-of-{v}"),
        };
        pairs.push((s.var, value));
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let printed = format!("{:?}", lookup(&pairs).unwrap());
    assert!(!printed.contains("hidden"), "{printed}");
    assert!(!printed.contains(&"5".repeat(64)), "{printed}");
}

/// Every `REFRAIN_*` variable the crates name is declared (so it loads, is checked and
/// is in the README), but for the test and fault-injection knobs.
#[test]
fn every_variable_the_code_reads_is_declared() {
    let declared: std::collections::HashSet<&str> = sections()
        .iter()
        .flat_map(|(_, s)| s.iter())
        .flat_map(|s| std::iter::once(s.var).chain(s.aliases.iter().copied()))
        .collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut undeclared = Vec::new();
    let mut stack: Vec<PathBuf> = ["backend/src", "server/src", "worker/src", "app/src"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("\"REFRAIN_") {
            let name: String = text[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let name = name.trim_end_matches("_FILE");
            // The test and fault-injection knobs, and this test's own README switch.
            let knob = name.starts_with("REFRAIN_TEST_")
                || ["REFRAIN_", "REFRAIN_FAILPOINTS", "REFRAIN_WRITE_README"].contains(&name);
            if !declared.contains(name) && !knob {
                undeclared.push(format!("{name} in {}", path.display()));
            }
        }
    }
    assert!(undeclared.is_empty(), "undeclared settings: {undeclared:?}");
}

/// The README's configuration tables are the declarations' (run with
/// `REFRAIN_WRITE_README=1` to write them there after changing a declaration).
#[test]
fn readme_table_is_the_declarations() {
    const BEGIN: &str = "<!-- settings: made from backend/src/infra/config/sections.rs -->\n";
    const END: &str = "<!-- end of settings -->";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme.find(BEGIN).expect("the README marks the settings") + BEGIN.len();
    let end = start + readme[start..].find(END).expect("the settings' end marker");
    let table = readme_table();
    if std::env::var_os("REFRAIN_WRITE_README").is_some() {
        let written = format!("{}{table}\n{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, written).unwrap();
        return;
    }
    let in_readme = readme[start..end].trim();
    assert!(
        in_readme == table.trim(),
        "README.md's configuration tables differ from the declarations in \
         backend/src/infra/config/sections.rs; run `REFRAIN_WRITE_README=1 cargo test -p backend \
         --lib readme_table` to write them"
    );
}

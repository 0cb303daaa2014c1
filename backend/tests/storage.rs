//! Matrix row 23, storage keys: whatever a key holds (`..`, an encoded slash, a
//! backslash, a leading slash), the local store writes and reads inside its own folder,
//! never beside or above it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use backend::storage::Storage;
use bytes::Bytes;
use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn hostile_keys_stay_inside_the_storage_folder() {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("objects");
    // A sibling whose name starts like the store's: a string-prefix check would let it in.
    std::fs::create_dir_all(top.path().join("objects-private")).unwrap();
    let storage = Storage::local(&root).unwrap();
    let root = root.canonicalize().unwrap();
    let keys = [
        "../escaped1",
        "covers/../../escaped2",
        "a/..%2f..%2fescaped3",
        "..%2F..%2Fobjects-private%2Fescaped4",
        "a%5C..%5C..%5Cescaped5",
        "a\\..\\..\\escaped6",
        "%2e%2e/%2e%2e/escaped7",
        "/../../escaped8",
        "covers/./../../../objects-private/escaped9",
    ];
    let mut stored = 0;
    for (i, key) in keys.iter().enumerate() {
        let body = Bytes::from(format!("object {i}"));
        // Refusing a key is as good as confining it; storing it must land inside.
        if storage.put(key, body.clone()).await.is_err() {
            continue;
        }
        stored += 1;
        assert_eq!(storage.get_bytes(key).await.unwrap(), body, "{key}");
        let path = storage.local_path(key).expect("a local path");
        let parent = path.parent().unwrap().canonicalize().unwrap();
        assert!(
            parent.starts_with(&root),
            "{key} is stored at {} outside {}",
            path.display(),
            root.display()
        );
        let mut ranged = storage.get_range(key, 0, 3).await.unwrap().stream;
        use futures::StreamExt;
        assert_eq!(&ranged.next().await.unwrap().unwrap()[..], &body[..3]);
    }
    assert!(
        stored > 0,
        "the store refused every key: the test would prove nothing"
    );
    let mut all = Vec::new();
    files_under(top.path(), &mut all);
    for file in &all {
        assert!(
            file.canonicalize().unwrap().starts_with(&root),
            "{} was written outside the store",
            file.display()
        );
    }
    assert_eq!(all.len(), stored);
}

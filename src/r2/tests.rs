use super::*;

fn open(dir: &std::path::Path, bucket: &str) -> BucketStore {
    let data = Arc::new(DataDir::open(Some(dir)).unwrap());
    BucketStore::open(data, bucket).unwrap()
}

fn put(store: &BucketStore, key: &str, body: &[u8]) -> String {
    let (options, mut blob) = store.begin_put(key, None).unwrap();
    blob.write(body).unwrap();
    store.commit_put(key, options, blob).unwrap().unwrap()
}

fn read(store: &BucketStore, key: &str) -> Option<Vec<u8>> {
    match store.get(key, None).unwrap() {
        GetOutcome::Inline(_, body) => Some(body),
        GetOutcome::Missing => None,
        _ => panic!("unexpected outcome"),
    }
}

#[test]
fn awkward_keys_stay_inside_the_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "photos");
    let keys = [
        "..",
        "../escape",
        "/leading",
        "trailing/",
        "a",
        "a/b",
        "a/b/",
        "./.",
        "\\",
        "é/😀",
    ];
    for (index, key) in keys.iter().enumerate() {
        put(&store, key, format!("body {index}").as_bytes());
    }
    for (index, key) in keys.iter().enumerate() {
        assert_eq!(
            read(&store, key).unwrap(),
            format!("body {index}").as_bytes(),
            "{key:?}"
        );
    }

    // Every file sits directly in blobs/, named by a hex id.
    let bucket_dir = dir.path().join("r2/photos/blobs");
    let names: Vec<String> = std::fs::read_dir(&bucket_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), keys.len());
    assert!(names
        .iter()
        .all(|n| n.bytes().all(|b| b.is_ascii_hexdigit())));
    assert!(!dir.path().join("escape").exists());
}

#[test]
fn overwrite_removes_the_old_blob() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "b");
    put(&store, "k", b"one");
    put(&store, "k", b"two");
    assert_eq!(read(&store, "k").unwrap(), b"two");
    assert_eq!(
        std::fs::read_dir(dir.path().join("r2/b/blobs"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn orphans_are_removed_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), "crashy");
        put(&store, "kept", b"kept");
    }
    let bucket = dir.path().join("r2/crashy");
    // A temp file of a writer that died, and a blob renamed but never committed.
    std::fs::write(bucket.join("tmp/2147483646-deadbeef.tmp"), b"torn").unwrap();
    std::fs::write(
        bucket.join("blobs/00112233445566778899aabbccddeeff"),
        b"uncommitted",
    )
    .unwrap();

    let data = Arc::new(DataDir::open(Some(dir.path())).unwrap());
    let store = BucketStore::open(data, "crashy").unwrap();
    store.remove_orphans().unwrap();
    assert_eq!(std::fs::read_dir(bucket.join("tmp")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(bucket.join("blobs")).unwrap().count(), 1);
    assert_eq!(read(&store, "kept").unwrap(), b"kept");
}

#[test]
fn list_groups_by_delimiter() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "b");
    for key in ["a", "a/b", "a/c/d", "b/x", "c"] {
        put(&store, key, b"x");
    }
    let page: serde_json::Value =
        serde_json::from_str(&store.list(Some(r#"{"delimiter":"/"}"#)).unwrap()).unwrap();
    let keys: Vec<&str> = page["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a", "c"]);
    assert_eq!(page["delimitedPrefixes"], serde_json::json!(["a/", "b/"]));

    let page: serde_json::Value = serde_json::from_str(
        &store
            .list(Some(r#"{"delimiter":"/","prefix":"a/"}"#))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(page["objects"][0]["key"], "a/b");
    assert_eq!(page["delimitedPrefixes"], serde_json::json!(["a/c/"]));
}

#[test]
fn list_pages_with_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "b");
    for index in 0..5 {
        put(&store, &format!("k{index}"), b"x");
    }
    let first: serde_json::Value =
        serde_json::from_str(&store.list(Some(r#"{"limit":2}"#)).unwrap()).unwrap();
    assert_eq!(first["truncated"], true);
    let cursor = first["cursor"].as_str().unwrap();
    let second: serde_json::Value = serde_json::from_str(
        &store
            .list(Some(&format!(r#"{{"limit":3,"cursor":"{cursor}"}}"#)))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(second["objects"][0]["key"], "k2");
    assert_eq!(second["truncated"], false);
}

//! One conformance suite for every tier backend tierd builds from a URL: memory, the local
//! filesystem, and a real S3 server (moto on 127.0.0.1). Later work (the executor) relies on each
//! property checked here; a backend that fails one cannot be a tier.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use harness::S3Server;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use tierd::config::TierConfig;

fn tier(url: String, options: BTreeMap<String, String>) -> Arc<dyn ObjectStore> {
    let t = TierConfig {
        name: "t".into(),
        url,
        min_storage_days: 0,
        options,
    };
    tierd::tier::open_tier(&t).expect("the tier opens")
}

async fn conformance(backend: &str, store: Arc<dyn ObjectStore>) {
    let a = Path::from("dir/a.bin");
    let b = Path::from("dir/sub/b.bin");

    // put, head, get, range get
    let data = Bytes::from((0..100_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    let put = store.put(&a, PutPayload::from(data.clone())).await.unwrap();
    let meta = store.head(&a).await.unwrap();
    assert_eq!(meta.size, data.len() as u64);
    assert_eq!(
        meta.e_tag, put.e_tag,
        "head reports the etag the put returned"
    );
    assert_eq!(store.get(&a).await.unwrap().bytes().await.unwrap(), data);
    assert_eq!(
        store.get_range(&a, 10..20).await.unwrap(),
        data.slice(10..20)
    );

    // create-only put refuses to overwrite
    let err = store
        .put_opts(
            &a,
            PutPayload::from_static(b"other"),
            PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, object_store::Error::AlreadyExists { .. }),
        "{err}"
    );
    assert_eq!(
        store.get(&a).await.unwrap().bytes().await.unwrap(),
        data,
        "the object is unchanged"
    );

    // a conditional update with a stale etag is refused (where the backend supports it)
    let stale = UpdateVersion {
        e_tag: Some("\"not-the-etag\"".into()),
        version: None,
    };
    match store
        .put_opts(
            &a,
            PutPayload::from_static(b"other"),
            PutOptions {
                mode: PutMode::Update(stale),
                ..Default::default()
            },
        )
        .await
    {
        Err(object_store::Error::Precondition { .. }) => {}
        Err(object_store::Error::NotImplemented { .. }) => {
            eprintln!(
                "SKIPPED CHECK ({backend}): conditional update (PutMode::Update) is not implemented by this backend"
            )
        }
        other => panic!("a stale conditional update must fail, got {other:?}"),
    }
    assert_eq!(store.get(&a).await.unwrap().bytes().await.unwrap(), data);

    // server-side copy, and copy-if-not-exists refusing to replace
    store.copy(&a, &b).await.unwrap();
    assert_eq!(store.get(&b).await.unwrap().bytes().await.unwrap(), data);
    let err = store.copy_if_not_exists(&a, &b).await.unwrap_err();
    assert!(
        matches!(err, object_store::Error::AlreadyExists { .. }),
        "{err}"
    );

    // listing with a prefix and with a delimiter
    let mut all: Vec<String> = store
        .list(Some(&Path::from("dir")))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    all.sort();
    assert_eq!(all, vec!["dir/a.bin", "dir/sub/b.bin"]);
    let top = store
        .list_with_delimiter(Some(&Path::from("dir")))
        .await
        .unwrap();
    assert_eq!(
        top.objects
            .iter()
            .map(|m| m.location.to_string())
            .collect::<Vec<_>>(),
        vec!["dir/a.bin"]
    );
    assert_eq!(
        top.common_prefixes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["dir/sub"]
    );

    // multipart upload of an object larger than one part (parts of 5 MiB, the S3 minimum)
    let big = Path::from("big/object.bin");
    let part = vec![7u8; 5 * 1024 * 1024];
    let mut up = store.put_multipart(&big).await.unwrap();
    up.put_part(PutPayload::from(part.clone())).await.unwrap();
    up.put_part(PutPayload::from(part.clone())).await.unwrap();
    up.put_part(PutPayload::from_static(b"tail")).await.unwrap();
    up.complete().await.unwrap();
    assert_eq!(
        store.head(&big).await.unwrap().size,
        (2 * part.len() + 4) as u64
    );
    assert_eq!(
        store
            .get_range(&big, (2 * part.len() as u64)..(2 * part.len() as u64 + 4))
            .await
            .unwrap(),
        Bytes::from_static(b"tail")
    );

    // Keys are stored under their own names: a listing gives back the keys that were written.
    let odd = [
        "odd/100%.txt",
        "odd/a b [1].txt",
        "odd/café/menu+prices.png",
    ];
    for key in odd {
        let p = tierd::tier::store_path(key);
        store.put(&p, PutPayload::from_static(b"k")).await.unwrap();
        assert_eq!(store.head(&p).await.unwrap().size, 1, "{backend}: {key}");
    }
    let listed: Vec<String> = store
        .list(Some(&Path::from("odd")))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    let mut listed = listed;
    listed.sort();
    assert_eq!(listed, odd, "{backend}");

    // delete, and a missing object is NotFound
    store.delete(&a).await.unwrap();
    let err = store.head(&a).await.unwrap_err();
    assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
    let err = store.get(&Path::from("never/there")).await.unwrap_err();
    assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_memory_tier_conforms() {
    conformance("memory", tier("memory://".into(), BTreeMap::new())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_local_filesystem_tier_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(
        "local filesystem",
        tier(
            format!("file://{}", dir.path().join("onprem").display()),
            BTreeMap::new(),
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_s3_tier_on_a_real_server_conforms() {
    let server = S3Server::start().expect("the S3 server starts");
    server.create_bucket("cold").unwrap();
    conformance("s3", tier("s3://cold/tierd/".into(), server.options())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_s3_tier_with_a_url_prefix_keeps_objects_under_it() {
    let server = S3Server::start().expect("the S3 server starts");
    server.create_bucket("cold").unwrap();
    let t = tier("s3://cold/tierd/".into(), server.options());
    t.put(&Path::from("x/y"), PutPayload::from_static(b"1"))
        .await
        .unwrap();
    let raw = server.store("cold").unwrap();
    assert_eq!(
        raw.get(&Path::from("tierd/x/y"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
        Bytes::from_static(b"1")
    );
}

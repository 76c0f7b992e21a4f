//! The embedded demo's data: with the embedded defaults (no configuration file), the objects the
//! bundled sample logs name are created on the `onprem` tier the first time, so that the first
//! README command shows tierd deciding and moving real bytes. Never used with a configuration.

use std::collections::BTreeMap;

use models::{AccessEvent, OpClass};
use object_store::{PutMode, PutOptions, PutPayload};

use crate::tier::Tiers;

/// Demo objects are at most this big (the sample logs name multi-megabyte photos).
pub const MAX_DEMO_BYTES: u64 = 256 * 1024;

/// Creates, on `tier`, every object the events read or wrote that is not there yet (sized from
/// the logs, capped at [`MAX_DEMO_BYTES`], filled with deterministic bytes). Returns how many.
///
/// # Errors
/// A store error other than "already exists".
pub async fn seed(tiers: &Tiers, tier: &str, events: &[AccessEvent]) -> anyhow::Result<u64> {
    let mut objects: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in events {
        if let (Some(key), OpClass::Get | OpClass::Put | OpClass::Head) = (&e.key, e.op)
            && e.status.is_none_or(|s| s < 300)
            && !e.bucket.is_empty()
        {
            let size = e.object_size.or(e.bytes_sent).unwrap_or(0);
            let slot = objects.entry((e.bucket.clone(), key.clone())).or_default();
            *slot = (*slot).max(size);
        }
    }
    let mut created = 0;
    for ((bucket, key), size) in objects {
        let (store, path) = tiers.object(tier, &bucket, &key)?;
        let n = size.clamp(1024, MAX_DEMO_BYTES) as usize;
        let mut x: u32 = 2_166_136_261;
        let bytes: Vec<u8> = (0..n)
            .map(|i| {
                x = (x ^ (i as u32)).wrapping_mul(16_777_619);
                (x >> 24) as u8
            })
            .collect();
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match store.put_opts(&path, PutPayload::from(bytes), opts).await {
            Ok(_) => created += 1,
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(created)
}

//! Which journal manages a tier. The mover lock keeps two movers of one journal apart; two
//! journals pointed at the same tiers (a staging configuration aimed at production, a second
//! host) do not see each other's moves at all. At start the service leaves a small marker,
//! `.tierd-owner.json`, at the root of each tier it manages, naming its journal; a marker that
//! names another journal is warned of (and shown by `/readyz`), not refused: a journal restored
//! on a new host, or moved to a new path, is the same journal.

use std::time::Duration;

use object_store::{ObjectStore, ObjectStoreExt, PutPayload, path::Path as StorePath};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// The marker's name at the root of a tier.
pub const MARKER: &str = ".tierd-owner.json";

/// How long a tier may take to answer at start before its marker is left unchecked.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// What the marker says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    /// The journal's identity (kept in the journal; the same after a move or a restore).
    pub journal_id: i64,
    /// Where that journal was when it claimed the tier, and on which host.
    pub journal: String,
    pub host: String,
    pub claimed: String,
}

/// The identity of a journal at `path`, made once at its first start: a hash of its path, the
/// time and the process, so that two journals made anywhere differ.
pub fn new_journal_id(path: &std::path::Path) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    crate::journal::stable_id(&format!("{}|{now}|{}", path.display(), std::process::id()))
}

/// This host's name, for the marker (`unknown` when it cannot be read).
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Claims every tier of `config` (those with one store; a `{bucket}` tier has none at its root)
/// for the journal `id`; returns a warning for each tier another journal claimed.
pub async fn claim(config: &Config, id: i64, now: &str) -> Vec<String> {
    let mine = Owner {
        journal_id: id,
        // Absolute, so that two deployments that each write `data/tierd.db` can be told apart.
        journal: std::path::absolute(&config.journal_path)
            .unwrap_or_else(|_| config.journal_path.clone())
            .display()
            .to_string(),
        host: host(),
        claimed: now.to_string(),
    };
    // Side by side, each within its own limit: a store that hangs delays the start by 5 s once.
    let claims = config
        .tiers
        .iter()
        .filter(|t| !t.url.contains(crate::tier::BUCKET_PLACEHOLDER))
        .filter_map(|t| Some((t, crate::tier::open_tier(t).ok()?)))
        .map(|(tier, store)| {
            let mine = &mine;
            async move {
                match tokio::time::timeout(ANSWER_WITHIN, check(store.as_ref(), mine)).await {
                    Ok(Ok(None)) => None,
                    // The same path on the same host, another identity: this journal was
                    // made anew where the one that claimed the tier was.
                    Ok(Ok(Some(other))) if other.journal == mine.journal && other.host == mine.host => Some(format!(
                        "tier {} was claimed on {} by another journal at this same path ({}) on a host of this name: if the journal was deleted or replaced since, this one started empty, and what that journal had in flight (its interrupted copies' staging files and incomplete uploads) is not known to this one, and its catalog and decisions are gone: restore it from a backup if you have one, or see docs/operations.md, \"A damaged or lost journal\" (then remove {MARKER} from the tier); if another deployment uses the same path on a host of the same name, point one of them at other tiers",
                        tier.name, other.claimed, other.journal
                    )),
                    Ok(Ok(Some(other))) => Some(format!(
                        "tier {} is managed by another journal too: {} on {} (claimed {}); two journals moving the same objects do not see each other's moves, so point one of them at other tiers (remove {MARKER} from the tier once the other journal is retired)",
                        tier.name, other.journal, other.host, other.claimed
                    )),
                    Ok(Err(e)) => {
                        tracing::debug!(tier = %tier.name, "the tier's owner marker could not be checked: {e}");
                        None
                    }
                    Err(_) => {
                        tracing::debug!(tier = %tier.name, "the tier's owner marker was not checked: no answer within 5s");
                        None
                    }
                }
            }
        });
    futures::future::join_all(claims)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Reads the tier's marker: `Some(owner)` when another journal claimed it; writes ours when
/// there is none (create-only, so that two starts at once cannot both claim it unseen).
async fn check(store: &dyn ObjectStore, mine: &Owner) -> object_store::Result<Option<Owner>> {
    let path = StorePath::from(MARKER);
    match store.get(&path).await {
        Ok(got) => {
            let bytes = got.bytes().await?;
            Ok(match serde_json::from_slice::<Owner>(&bytes) {
                Ok(o) if o.journal_id == mine.journal_id => None,
                Ok(o) => Some(o),
                // Not ours to judge: a damaged marker is left as it is.
                Err(_) => None,
            })
        }
        Err(object_store::Error::NotFound { .. }) => {
            let body = serde_json::to_vec(mine).unwrap_or_default();
            let opts = object_store::PutOptions {
                mode: object_store::PutMode::Create,
                ..Default::default()
            };
            match store.put_opts(&path, PutPayload::from(body), opts).await {
                Ok(_) => Ok(None),
                // Claimed meanwhile by another start: read what it wrote.
                Err(object_store::Error::AlreadyExists { .. }) => {
                    Box::pin(check(store, mine)).await
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_tier_is_claimed_once_and_another_journal_is_named() {
        let store = object_store::memory::InMemory::new();
        let owner = |id| Owner {
            journal_id: id,
            journal: format!("/var/lib/tierd/{id}.db"),
            host: "h".into(),
            claimed: "2026-11-30T00:00:00Z".into(),
        };
        assert_eq!(check(&store, &owner(1)).await.unwrap(), None);
        assert_eq!(check(&store, &owner(1)).await.unwrap(), None);
        assert_eq!(check(&store, &owner(2)).await.unwrap(), Some(owner(1)));
    }

    #[test]
    fn journal_ids_differ_and_are_positive() {
        let p = std::path::Path::new("/var/lib/tierd/tierd.db");
        let a = new_journal_id(p);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_journal_id(p);
        assert!(a >= 0 && b >= 0 && a != b);
    }
}

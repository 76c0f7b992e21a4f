//! A store wrapper that injects faults and side effects, to test what the executor does when a
//! store fails or an object changes under it. Everything else is passed to the real store.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

type Hook = Box<dyn Fn(&Path) + Send + Sync>;

/// Wraps a store. `fail_gets`/`fail_puts` make the next N reads/writes fail with a transient
/// (generic) error; `on_put` runs before every write reaches the store.
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    pub fail_gets: AtomicUsize,
    pub fail_puts: AtomicUsize,
    /// The next N writes reach the store, but their answer is lost (an error is returned).
    pub lose_put_answers: AtomicUsize,
    /// The next N listings fail part way: their first object, then an error.
    pub fail_lists: AtomicUsize,
    /// The next N reads (heads included) are refused, as a 403 is (wrong credentials).
    pub deny_gets: AtomicUsize,
    /// Reads that reached this store (heads included).
    pub gets: AtomicUsize,
    /// Reads (heads included) of this path are refused, as a 403 is.
    pub deny_reads_of: Mutex<Option<Path>>,
    on_put: Mutex<Option<Hook>>,
}

impl fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

impl fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn ObjectStore>) -> Arc<FaultyStore> {
        Arc::new(FaultyStore {
            inner,
            fail_gets: AtomicUsize::new(0),
            fail_puts: AtomicUsize::new(0),
            lose_put_answers: AtomicUsize::new(0),
            fail_lists: AtomicUsize::new(0),
            deny_gets: AtomicUsize::new(0),
            gets: AtomicUsize::new(0),
            deny_reads_of: Mutex::new(None),
            on_put: Mutex::new(None),
        })
    }

    /// Runs `hook` (once per write) before each write reaches the store.
    pub fn on_put(&self, hook: impl Fn(&Path) + Send + Sync + 'static) {
        *self
            .on_put
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Box::new(hook));
    }

    fn take(counter: &AtomicUsize) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    fn injected() -> object_store::Error {
        object_store::Error::Generic {
            store: "faulty",
            source: "injected transient failure (503 Slow Down)".into(),
        }
    }

    fn hook(&self, p: &Path) {
        if let Some(h) = self
            .on_put
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            h(p);
        }
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.hook(location);
        if Self::take(&self.fail_puts) {
            return Err(Self::injected());
        }
        let r = self.inner.put_opts(location, payload, opts).await;
        if r.is_ok() && Self::take(&self.lose_put_answers) {
            return Err(Self::injected());
        }
        r
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.hook(location);
        if Self::take(&self.fail_puts) {
            return Err(Self::injected());
        }
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        let denied = self
            .deny_reads_of
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            == Some(location);
        if denied || Self::take(&self.deny_gets) {
            return Err(object_store::Error::PermissionDenied {
                path: location.to_string(),
                source: "injected 403 Forbidden".into(),
            });
        }
        if Self::take(&self.fail_gets) {
            return Err(Self::injected());
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        if Self::take(&self.fail_lists) {
            let first = self.inner.list(prefix).take(1);
            return first
                .chain(futures::stream::once(async { Err(Self::injected()) }))
                .boxed();
        }
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

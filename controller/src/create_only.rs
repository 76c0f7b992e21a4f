//! Create-only multipart completions on S3 tiers.
//!
//! tierd never overwrites an object by copying it: a copy goes to a key that must be free. A
//! single PUT says so with `If-None-Match: *` (object_store's `PutMode::Create`), but an object
//! over the multipart threshold is assembled by `CompleteMultipartUpload`, which object_store
//! sends without a condition, so a client's object written at the key during a long upload
//! would be replaced, and the move would then delete the source. AWS S3 (and servers that
//! follow it) honour `If-None-Match: *` on `CompleteMultipartUpload` too; object_store has no
//! option to send it. This connector, which every S3 tier's client goes through, adds it to
//! every `CompleteMultipartUpload` (a `POST` with an `uploadId`): tierd completes uploads only
//! for copies, which are create-only by design (a restore with `--overwrite` replaces an object
//! by a server-side copy of a staged one, not by an upload).
//!
//! # Caveats
//! The header is not signed (SigV4 signs the headers it lists; S3 accepts other headers
//! beside them). A server that ignores the condition completes the upload as before; the copy
//! checks the key just before it completes, which leaves the usual instant of a check and a
//! write. A server that answers `412 Precondition Failed` makes the copy fail as "the destination
//! already holds the key" and its upload is aborted.

use object_store::ClientOptions;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpService, ReqwestConnector,
};

/// The HTTP connector of S3 tiers: object_store's own, with [`CreateOnly`] in front.
#[derive(Debug, Default)]
pub struct CreateOnlyConnector;

impl HttpConnector for CreateOnlyConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(CreateOnly { inner }))
    }
}

/// Adds `If-None-Match: *` to each `CompleteMultipartUpload` request.
#[derive(Debug)]
struct CreateOnly {
    inner: HttpClient,
}

#[async_trait::async_trait]
impl HttpService for CreateOnly {
    async fn call(&self, mut req: HttpRequest) -> Result<HttpResponse, HttpError> {
        if completes_an_upload(req.method(), req.uri()) {
            req.headers_mut().insert(
                http::header::IF_NONE_MATCH,
                http::HeaderValue::from_static("*"),
            );
        }
        self.inner.execute(req).await
    }
}

/// Whether a request is an S3 `CompleteMultipartUpload`: a `POST` whose query names an
/// `uploadId` (`CreateMultipartUpload` is a `POST ?uploads`, a part a `PUT`).
fn completes_an_upload(method: &http::Method, uri: &http::Uri) -> bool {
    method == http::Method::POST
        && uri
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("uploadId=")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_completion_of_an_upload_is_made_create_only() {
        let post = http::Method::POST;
        let uri = |s: &str| s.parse::<http::Uri>().unwrap_or_default();
        assert!(completes_an_upload(
            &post,
            &uri("http://127.0.0.1:9000/b/k?uploadId=abc")
        ));
        assert!(completes_an_upload(
            &post,
            &uri("http://127.0.0.1:9000/b/k?x-id=CompleteMultipartUpload&uploadId=abc")
        ));
        // Starting an upload, a part, a multi-object delete, a plain PUT: untouched.
        assert!(!completes_an_upload(&post, &uri("http://h/b/k?uploads")));
        assert!(!completes_an_upload(
            &http::Method::PUT,
            &uri("http://h/b/k?partNumber=1&uploadId=abc")
        ));
        assert!(!completes_an_upload(&post, &uri("http://h/b?delete")));
        assert!(!completes_an_upload(
            &http::Method::PUT,
            &uri("http://h/b/k")
        ));
        assert!(!completes_an_upload(
            &http::Method::DELETE,
            &uri("http://h/b/k?uploadId=abc")
        ));
    }
}

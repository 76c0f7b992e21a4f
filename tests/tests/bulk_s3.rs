//! `tierd move` to a real S3 server (moto) through a small HTTP proxy on 127.0.0.1 that fails
//! chosen requests: a copy whose upload fails part way, on a store that then refuses to abort
//! the upload, leaves parts behind; the command says so and exits 1 (review 20 #16), and
//! `tierd recover` aborts them once the store answers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use harness::{S3Server, tierd};
use object_store::ObjectStoreExt;
use object_store::path::Path as StorePath;

/// What the proxy fails, the rest being forwarded to the server.
#[derive(Debug, Default)]
struct Refusals {
    /// Every abort of a multipart upload (`DELETE ...?uploadId=`) gets a 500 while set.
    aborts: AtomicBool,
    /// This many uploads of a part 2 (`PUT ...?partNumber=2&...`) get a 500, then none.
    second_parts: AtomicUsize,
}

/// Starts the proxy in front of the server on `upstream`: its port. Each connection carries one
/// request (its answer says `Connection: close`), so that framing is never an issue.
fn start_proxy(upstream: u16, refusals: Arc<Refusals>) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let refusals = Arc::clone(&refusals);
            std::thread::spawn(move || {
                let _ = one_request(conn, upstream, &refusals);
            });
        }
    });
    port
}

fn one_request(client: TcpStream, upstream: u16, refusals: &Refusals) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        let end = line == "\r\n";
        if !lower.starts_with("connection:") && !end {
            head.push(line);
        }
        if end {
            break;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let request_line = head.first().cloned().unwrap_or_default();
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let query: Vec<&str> = target
        .split_once('?')
        .map_or(Vec::new(), |(_, q)| q.split('&').collect());
    let abort = method == "DELETE" && query.iter().any(|q| q.starts_with("uploadId="));
    let second_part = method == "PUT" && query.contains(&"partNumber=2");
    let refuse = (abort && refusals.aborts.load(Ordering::SeqCst))
        || (second_part
            && refusals
                .second_parts
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok());
    let mut client = client;
    if refuse {
        let xml = "<Error><Code>InternalError</Code><Message>refused by the test's proxy</Message></Error>";
        write!(
            client,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        )?;
        return client.flush();
    }
    let mut server = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream))?;
    server.write_all(head.concat().as_bytes())?;
    server.write_all(b"Connection: close\r\n\r\n")?;
    server.write_all(&body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    // The answer as it came, but for its own Connection header: this connection closes.
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |p| p + 2);
    let (answer_head, rest) = answer.split_at(split);
    for line in String::from_utf8_lossy(answer_head).split_inclusive("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            client.write_all(line.as_bytes())?;
        }
    }
    client.write_all(b"Connection: close\r\n")?;
    client.write_all(rest)?;
    client.flush()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_that_leaves_an_upload_a_store_would_not_abort_exits_1_and_recover_aborts_it() {
    let server = S3Server::start().expect("the S3 server starts");
    server.create_bucket("cold").unwrap();
    let refusals = Arc::new(Refusals::default());
    let proxy = start_proxy(server.port, Arc::clone(&refusals));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let options: Vec<String> = server
        .options()
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "endpoint" => format!("endpoint = \"http://127.0.0.1:{proxy}\""),
            _ => format!("{k} = \"{v}\""),
        })
        .collect();
    std::fs::write(
        d.join("tierd.toml"),
        format!(
            "[journal]\npath = \"tierd.db\"\n[tiers.onprem]\nurl = \"file://onprem\"\n[tiers.cloud]\nurl = \"s3://cold\"\noptions = {{ {} }}\n",
            options.join(", ")
        ),
    )
    .unwrap();
    // 20 MiB: two parts of a multipart upload (16 MiB and 4 MiB).
    let big: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    std::fs::write(d.join("onprem/photos/big.bin"), &big).unwrap();

    // The first attempt's part 2 fails (object_store's 3 retries included), and so does every
    // abort: the attempt's upload stays on the store; the second attempt moves the object.
    refusals.aborts.store(true, Ordering::SeqCst);
    refusals.second_parts.store(4, Ordering::SeqCst);
    let r = tierd(
        d,
        &[
            "move",
            "photos/big.bin",
            "--to",
            "cloud",
            "--config",
            "tierd.toml",
        ],
    );
    assert_eq!(
        refusals.second_parts.load(Ordering::SeqCst),
        0,
        "the proxy failed no part: {}{}",
        r.stdout,
        r.stderr
    );
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "moved    photos/big.bin  onprem -> cloud  20971520 bytes, verified by etag",
            "1 moved (20971520 bytes), 0 failed or aborted, 0 skipped",
            "1 incomplete multipart upload left on a store that did not answer; run `tierd recover` once it answers",
        ],
        "{}",
        r.stderr
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let cold = server.store("cold").unwrap();
    let moved = cold.get(&StorePath::from("photos/big.bin")).await.unwrap();
    assert!(
        moved.bytes().await.unwrap() == big,
        "the copy has other bytes"
    );
    assert!(!d.join("onprem/photos/big.bin").exists());
    let left = harness::boto::multipart_uploads(&server.endpoint(), "cold").unwrap();
    assert_eq!(left.len(), 1, "{left:?}");

    // Once the store answers, recovery aborts what was left.
    refusals.aborts.store(false, Ordering::SeqCst);
    let r = tierd(d, &["recover", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let left = harness::boto::multipart_uploads(&server.endpoint(), "cold").unwrap();
    assert!(left.is_empty(), "{left:?}");
}

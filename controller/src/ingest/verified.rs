//! Gzip decoding that hands on a member's bytes only once its checksum held.
//!
//! A corrupt byte in a gzip member can still decode: the deflate stream goes on, replaying the
//! wrong part of its window (the same records again, or pieces of them), until the CRC at the
//! member's end fails. Read as it decodes, such a member hands on hundreds of fabricated,
//! duplicated records before the failure is known. [`Verified`] runs a second decoder (the
//! probe) over a second reader of the same compressed bytes one member ahead: the main decoder's
//! output is handed on only up to the end of the last member the probe decoded whole, CRC and
//! length checked. A member that fails is given none of its bytes; its error is returned where
//! it starts.
//!
//! A member cut short (its end missing: a copy cut off, a file still being written) has no
//! checksum to check; its bytes are handed on as they decode, and the main decoder reports the
//! break itself, as before.
//!
//! # Cost
//! Every member is decoded twice: one more decode, at about 560 MB/s of decoded text, costs
//! about as much CPU as parsing the lines, so a gzip log takes about half again as long to read
//! (docs/BENCHMARKS.md). It takes a second open file (or a second cursor over the fetched
//! bytes) and one more decoder's state and buffer (about 100 KiB); memory does not grow with a
//! member's size.

use std::io::{BufRead, BufReader, ErrorKind, Read};

use flate2::bufread::GzDecoder;

/// A gzip stream's decoded bytes, each member's handed on only once it was decoded whole and its
/// checksum held (see the module documentation).
pub struct Verified<M> {
    /// The decoder whose output is handed on.
    main: M,
    /// The compressed bytes at the start of the next member to check; `None` once the probe
    /// reached the end, or a member cut short (the main decoder then goes on unchecked).
    probe: Option<BufReader<Box<dyn Read + Send>>>,
    /// Decoded bytes the probe checked.
    verified: u64,
    /// Decoded bytes handed on.
    given: u64,
    /// Why the member after the checked ones failed its check; returned once every checked byte
    /// was handed on.
    failure: Option<std::io::Error>,
    /// The failure was returned: the stream ends there.
    ended: bool,
}

impl<M: Read> Verified<M> {
    /// `main` decodes the stream (a multi-member gzip decoder); `probe` reads the same
    /// compressed bytes from their start.
    pub fn new(main: M, probe: Box<dyn Read + Send>) -> Self {
        Verified {
            main,
            probe: Some(BufReader::with_capacity(1 << 16, probe)),
            verified: 0,
            given: 0,
            failure: None,
            ended: false,
        }
    }

    /// Decodes the next member with the probe: its length is checked, or why it failed kept.
    fn check_next_member(&mut self) -> std::io::Result<()> {
        let Some(mut input) = self.probe.take() else {
            return Ok(());
        };
        if input.fill_buf()?.is_empty() {
            return Ok(());
        }
        let mut member = GzDecoder::new(input);
        match std::io::copy(&mut member, &mut std::io::sink()) {
            Ok(n) => {
                self.verified += n;
                self.probe = Some(member.into_inner());
            }
            // Cut short: the main decoder hands on what decodes and reports the break.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {}
            Err(e) => self.failure = Some(e),
        }
        Ok(())
    }
}

impl<M: Read> Read for Verified<M> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.given < self.verified {
                let room = (self.verified - self.given).min(buf.len() as u64) as usize;
                let n = self.main.read(&mut buf[..room])?;
                self.given += n as u64;
                return Ok(n);
            }
            if self.ended {
                return Ok(0);
            }
            if let Some(e) = self.failure.take() {
                // Once: a caller that reads on gets the end of the stream.
                self.ended = true;
                return Err(e);
            }
            if self.probe.is_none() {
                let n = self.main.read(buf)?;
                self.given += n as u64;
                return Ok(n);
            }
            self.check_next_member()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::MultiGzDecoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn verified(bytes: &[u8]) -> Verified<MultiGzDecoder<std::io::Cursor<Vec<u8>>>> {
        let main = MultiGzDecoder::new(std::io::Cursor::new(bytes.to_vec()));
        Verified::new(main, Box::new(std::io::Cursor::new(bytes.to_vec())))
    }

    #[test]
    fn whole_members_are_handed_on_in_full() {
        let (a, b) = ("first member\n".repeat(5_000), "second\n".repeat(7_000));
        let stream = [gzip(a.as_bytes()), gzip(b.as_bytes())].concat();
        let mut out = String::new();
        verified(&stream).read_to_string(&mut out).unwrap();
        assert_eq!(out, a + &b);
    }

    #[test]
    fn a_member_whose_checksum_fails_gives_none_of_its_bytes() {
        let good = "good\n".repeat(1_000);
        let bad: String = (0..2_000).map(|i| format!("line {i:05}\n")).collect();
        let mut damaged = gzip(bad.as_bytes());
        let crc_at = damaged.len() - 8;
        damaged[crc_at] ^= 0xff;
        let stream = [gzip(good.as_bytes()), damaged].concat();
        // Unchecked, the member decodes in full before the checksum fails.
        let mut unchecked = Vec::new();
        let e = MultiGzDecoder::new(&stream[..])
            .read_to_end(&mut unchecked)
            .unwrap_err();
        assert_eq!(unchecked.len(), good.len() + bad.len(), "{e}");
        let mut out = Vec::new();
        let e = verified(&stream).read_to_end(&mut out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert_eq!(String::from_utf8(out).unwrap(), good);
    }

    #[test]
    fn a_member_cut_short_gives_what_decodes_then_the_break() {
        let text: String = (0..20_000).map(|i| format!("line {i:05}\n")).collect();
        let whole = gzip(text.as_bytes());
        let cut = &whole[..whole.len() / 2];
        let mut out = Vec::new();
        let e = verified(cut).read_to_end(&mut out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
        assert!(!out.is_empty() && text.as_bytes().starts_with(&out));
    }
}

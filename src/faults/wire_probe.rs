//! A tiny Kafka client on a raw TCP socket, for proving network faults from
//! outside the fault proxy: it speaks one request, ApiVersions v0 (which
//! every broker answers, whatever its version), and measures what a client
//! sees: a round trip, the throughput of pipelined answers, silence, a reset,
//! the pieces an answer arrives in, how long a close takes. It never asks
//! the proxy anything.

use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const API_VERSIONS: i16 = 18;
const CLIENT_ID: &[u8] = b"dashstream-probe";
/// Longest answer accepted (an ApiVersions answer is about half a KiB).
const MAX_ANSWER: usize = 1 << 20;

/// An ApiVersions v0 request with `correlation_id`, size prefix included.
fn request(correlation_id: i32) -> Vec<u8> {
    padded_request(correlation_id, 0)
}

/// The same, its client id padded with `pad` bytes: a request the broker
/// reads in full before it answers, for measuring bytes sent.
fn padded_request(correlation_id: i32, pad: usize) -> Vec<u8> {
    let pad = pad.min(i16::MAX as usize - CLIENT_ID.len());
    let mut body = Vec::with_capacity(32 + pad);
    body.extend_from_slice(&API_VERSIONS.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&correlation_id.to_be_bytes());
    body.extend_from_slice(&((CLIENT_ID.len() + pad) as i16).to_be_bytes());
    body.extend_from_slice(CLIENT_ID);
    body.resize(body.len() + pad, b'-');
    let mut framed = (body.len() as i32).to_be_bytes().to_vec();
    framed.extend_from_slice(&body);
    framed
}

/// One open connection to a broker (or to the proxy in front of it).
pub struct Probe {
    stream: TcpStream,
    next_id: i32,
}

/// What reading one answer looked like.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    /// Bytes of the answer, size prefix included.
    pub bytes: usize,
    /// How many reads it took to get them.
    pub reads: usize,
}

impl Probe {
    /// Connects to `address` within `deadline`.
    pub async fn connect(address: &str, deadline: Duration) -> io::Result<Self> {
        let stream = tokio::time::timeout(deadline, TcpStream::connect(address))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("no connection to {address} within {deadline:?}")))??;
        stream.set_nodelay(true)?;
        Ok(Self { stream, next_id: 1 })
    }

    /// Sends `n` requests in one write, without waiting for answers.
    pub async fn send(&mut self, n: usize) -> io::Result<()> {
        self.send_padded(n, 0).await.map(drop)
    }

    /// Sends `n` requests padded with `pad` bytes each in one write; the bytes sent.
    pub async fn send_padded(&mut self, n: usize, pad: usize) -> io::Result<usize> {
        let mut all = Vec::new();
        for _ in 0..n {
            all.extend(padded_request(self.next_id, pad));
            self.next_id += 1;
        }
        self.stream.write_all(&all).await?;
        Ok(all.len())
    }

    /// Reads one answer, checking it is one.
    pub async fn answer(&mut self) -> io::Result<Answer> {
        let mut size = [0u8; 4];
        let mut reads = read_fully(&mut self.stream, &mut size).await?;
        let len = i32::from_be_bytes(size);
        if len < 4 || len as usize > MAX_ANSWER {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("not a Kafka answer: size {len}")));
        }
        let mut rest = vec![0u8; len as usize];
        reads += read_fully(&mut self.stream, &mut rest).await?;
        Ok(Answer { bytes: 4 + len as usize, reads })
    }

    /// One request, one answer: how long it took and how it came.
    pub async fn round_trip(&mut self) -> io::Result<(Duration, Answer)> {
        let start = Instant::now();
        self.send(1).await?;
        let answer = self.answer().await?;
        Ok((start.elapsed(), answer))
    }

    /// Closes the sending side and waits for the other side's close: how long it took.
    pub async fn close_time(mut self, deadline: Duration) -> io::Result<Duration> {
        let start = Instant::now();
        self.stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        loop {
            match tokio::time::timeout(deadline.saturating_sub(start.elapsed()), self.stream.read(&mut sink)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Ok(start.elapsed()),
                Ok(Ok(_)) => {}
                Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, format!("not closed within {deadline:?}"))),
            }
        }
    }
}

/// Fills `buf`; the number of reads it took. EOF before the end is an error.
async fn read_fully(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let (mut got, mut reads) = (0, 0);
    while got < buf.len() {
        let n = stream.read(&mut buf[got..]).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
        reads += 1;
    }
    Ok(reads)
}

/// The shortest of `samples` round trips to each of `first` and `second`,
/// taken in turns, so that both see the broker equally busy (a broker slowed
/// by its neighbours for a moment slows one side only if they are taken apart).
pub async fn shortest_round_trips(first: &str, second: &str, samples: usize, deadline: Duration) -> io::Result<(Duration, Duration)> {
    let mut probes = [Probe::connect(first, deadline).await?, Probe::connect(second, deadline).await?];
    let mut best = [Duration::MAX; 2];
    for _ in 0..samples {
        for (i, (probe, address)) in probes.iter_mut().zip([first, second]).enumerate() {
            let (took, _) = tokio::time::timeout(deadline, probe.round_trip()).await.map_err(|_| timed_out(address, deadline))??;
            best[i] = best[i].min(took);
        }
    }
    Ok((best[0], best[1]))
}

/// Bytes per second of `requests` pipelined requests of 16 KiB each to
/// `address`, answers included, until the last answer is in.
pub async fn request_throughput(address: &str, requests: usize, deadline: Duration) -> io::Result<f64> {
    let mut probe = Probe::connect(address, deadline).await?;
    probe.round_trip().await?;
    let start = Instant::now();
    let mut bytes = probe.send_padded(requests, 16 * 1024).await?;
    for _ in 0..requests {
        bytes += tokio::time::timeout(deadline, probe.answer()).await.map_err(|_| timed_out(address, deadline))??.bytes;
    }
    Ok(bytes as f64 / start.elapsed().as_secs_f64())
}

/// Whether `address` accepts a connection and then leaves a request
/// unanswered for `wait`. Err if it refuses the connection.
pub async fn accepts_but_never_answers(address: &str, wait: Duration) -> io::Result<bool> {
    let mut probe = Probe::connect(address, wait).await?;
    Ok(tokio::time::timeout(wait, probe.round_trip()).await.is_err())
}

/// Round trips on one connection until it is cut (at most `limit`): the
/// bytes that passed before, and how it ended; `None` if it never was.
pub async fn bytes_until_cut(address: &str, limit: usize, deadline: Duration) -> io::Result<Option<(usize, io::ErrorKind)>> {
    let mut probe = Probe::connect(address, deadline).await?;
    let mut passed = 0;
    for _ in 0..limit {
        match tokio::time::timeout(deadline, probe.round_trip()).await {
            Err(_) => return Err(timed_out(address, deadline)),
            Ok(Ok((_, answer))) => passed += answer.bytes + request(0).len(),
            Ok(Err(e)) => return Ok(Some((passed, e.kind()))),
        }
    }
    Ok(None)
}

fn timed_out(address: &str, deadline: Duration) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("no answer from {address} within {deadline:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_an_api_versions_v0_request() {
        let r = request(7);
        assert_eq!(&r[..4], &((r.len() - 4) as i32).to_be_bytes());
        assert_eq!(&r[4..6], &18i16.to_be_bytes(), "api key");
        assert_eq!(&r[6..8], &0i16.to_be_bytes(), "version");
        assert_eq!(&r[8..12], &7i32.to_be_bytes(), "correlation id");
        assert_eq!(&r[14..], CLIENT_ID);
        let padded = padded_request(7, 100);
        assert_eq!(padded.len(), r.len() + 100);
        assert_eq!(&padded[12..14], &((CLIENT_ID.len() + 100) as i16).to_be_bytes(), "the client id's length");
    }
}

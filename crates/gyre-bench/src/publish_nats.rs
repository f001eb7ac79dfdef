//! Publisher for nats-server over plain NATS TCP. At a fixed rate it just sends `PUB`s (NATS
//! has no per-publish ack); saturated, it sends batches of [`BATCH`] `PUB`s followed by a
//! `PING` and waits for the `PONG`, which bounds the data in flight and is the publish round
//! trip it reports.

use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::nats_proto::{self, Event, ParseError};
use crate::nats_ws::CONNECT_LINE;
use crate::payload;
use crate::publish::{Pacer, PubOutcome, PubPlan};

const BATCH: usize = 64;
const IO_TIMEOUT: Duration = Duration::from_secs(5);

struct Conn {
    tcp: TcpStream,
    pending: Vec<u8>,
    out: Vec<u8>,
    data: Vec<u8>,
}

impl Conn {
    async fn open(host_port: &str) -> anyhow::Result<Conn> {
        let tcp = TcpStream::connect(host_port)
            .await
            .with_context(|| format!("connecting to {host_port}"))?;
        tcp.set_nodelay(true)?;
        let mut conn = Conn {
            tcp,
            pending: Vec::with_capacity(4096),
            out: Vec::with_capacity(64 * 1024),
            data: Vec::new(),
        };
        conn.tcp
            .write_all(format!("{CONNECT_LINE}PING\r\n").as_bytes())
            .await?;
        conn.flush_pongs(1).await?;
        Ok(conn)
    }

    /// Reads until `want` PONGs arrived, answering server PINGs; an `-ERR` is an error.
    async fn flush_pongs(&mut self, mut want: usize) -> anyhow::Result<()> {
        while want > 0 {
            want -= self.read_some().await?;
        }
        Ok(())
    }

    /// One read; handles what it got and returns the PONG count.
    async fn read_some(&mut self) -> anyhow::Result<usize> {
        if self.pending.capacity() - self.pending.len() < 1024 {
            self.pending.reserve(4096);
        }
        if self.tcp.read_buf(&mut self.pending).await? == 0 {
            bail!("server closed the connection");
        }
        let (mut pongs, mut pings, mut error) = (0, 0, None);
        nats_proto::drain::<ParseError>(&mut self.pending, |e| {
            match e {
                Event::Pong => pongs += 1,
                Event::Ping => pings += 1,
                Event::Err(text) => error = Some(String::from_utf8_lossy(text).into_owned()),
                _ => {}
            }
            Ok(())
        })?;
        if let Some(error) = error {
            bail!("server error: {error}");
        }
        for _ in 0..pings {
            self.tcp.write_all(b"PONG\r\n").await?;
        }
        Ok(pongs)
    }

    /// Appends `PUB <subject> <len>\r\n<payload>\r\n` for `seq` to the output buffer.
    fn push_pub(&mut self, subject: &str, seq: u64, sent_ns: u64, size: usize) {
        payload::write(&mut self.data, seq, sent_ns, size);
        self.out.extend_from_slice(b"PUB ");
        self.out.extend_from_slice(subject.as_bytes());
        self.out.push(b' ');
        self.out
            .extend_from_slice(itoa::Buffer::new().format(self.data.len()).as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(&self.data);
        self.out.extend_from_slice(b"\r\n");
    }

    /// Writes the output buffer; a server that stops reading for [`IO_TIMEOUT`] is an error.
    async fn send_out(&mut self) -> anyhow::Result<()> {
        let out = std::mem::take(&mut self.out);
        let result = timeout(IO_TIMEOUT, self.tcp.write_all(&out))
            .await
            .unwrap_or_else(|_| {
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "write timed out",
                ))
            });
        self.out = out;
        self.out.clear();
        Ok(result?)
    }
}

pub(crate) async fn run(plan: PubPlan, host_port: String) -> PubOutcome {
    let mut out = PubOutcome::new(&plan);
    let result = match timeout(IO_TIMEOUT, Conn::open(&host_port)).await {
        Ok(Ok(conn)) => publish(conn, &plan, &mut out).await,
        Ok(Err(e)) => Err(e),
        Err(_) => Err(anyhow::anyhow!("NATS connect timed out")),
    };
    if let Err(e) = result {
        out.error(format!("{e:#}"));
    }
    out
}

async fn publish(mut conn: Conn, plan: &PubPlan, out: &mut PubOutcome) -> anyhow::Result<()> {
    let mut seq = vec![0u64; plan.channels.len()];
    let mut k = 0;
    if plan.interval.is_none() {
        while Instant::now() < plan.stop_at {
            let started = Instant::now();
            let sent_ns = payload::now_ns();
            // A batch may hold several publications of one channel: numbers advance per PUB.
            let first = k;
            for _ in 0..BATCH {
                conn.push_pub(&plan.names[k], seq[k], payload::now_ns(), plan.payload_size);
                seq[k] += 1;
                k = (k + 1) % plan.channels.len();
            }
            conn.out.extend_from_slice(b"PING\r\n");
            conn.send_out().await?;
            timeout(IO_TIMEOUT, conn.flush_pongs(1))
                .await
                .context("PONG timed out")??;
            out.round_trip(sent_ns, started.elapsed(), &plan.window);
            for i in 0..BATCH {
                out.accepted((first + i) % plan.channels.len(), sent_ns, &plan.window);
            }
        }
        return Ok(());
    }
    let mut pacer = Pacer::with_phase(plan.interval, plan.phase);
    while Instant::now() < plan.stop_at {
        tokio::select! {
            _ = pacer.wait() => {
                let sent_ns = payload::now_ns();
                conn.push_pub(&plan.names[k], seq[k], sent_ns, plan.payload_size);
                conn.send_out().await?;
                out.accepted(k, sent_ns, &plan.window);
                seq[k] += 1;
                k = (k + 1) % plan.channels.len();
            }
            read = conn.read_some() => { read?; }
        }
    }
    // The PONG confirms the server processed every PUB before it.
    conn.tcp.write_all(b"PING\r\n").await?;
    timeout(IO_TIMEOUT, conn.flush_pongs(1))
        .await
        .context("final PONG timed out")??;
    Ok(())
}

//! Presence load: watchers subscribe through the server (digest included), presentities
//! publish at a stepped rate, and every NOTIFY is answered and timed. A sipp scenario
//! cannot tell which PUBLISH a NOTIFY reflects; this generator puts the publish time and
//! a sequence number in the PIDF note and reads them back from each NOTIFY.
//!
//! Users are `u000001` … with passwords `pw000001` …: presentities first, then watchers.
//! Every watcher subscribes to every presentity of its group, so `--presentities P
//! --watchers M` makes P×M subscriptions.
//!
//! A step passes when every PUBLISH got 200 and, once the server is quiet, every watcher's
//! last NOTIFY shows the last state published (the server may coalesce intermediate
//! states, never the last one).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use herald_sip::{
    auth::Challenge, parse_datagram, HeaderName, Limits, Message, Request, Response, StatusCode,
};
use tokio::{net::UdpSocket, sync::oneshot};

struct Args {
    server: SocketAddr,
    domain: String,
    presentities: usize,
    watchers: usize,
    rates: Vec<u32>,
    secs: u64,
    sockets: usize,
    pid: Option<u32>,
    /// Wait after each wave of subscriptions, for the server's SUBSCRIBE transactions to
    /// end (Timer J, 32 s), before reading its memory.
    settle_secs: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        server: "127.0.0.1:5060".parse()?,
        domain: "example.com".into(),
        presentities: 1,
        watchers: 100,
        rates: vec![1, 2, 5, 10],
        secs: 5,
        sockets: 16,
        pid: None,
        settle_secs: 35,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| anyhow!("{k} needs a value"));
        match k.as_str() {
            "--server" => a.server = v()?.parse().context("--server")?,
            "--domain" => a.domain = v()?,
            "--presentities" => a.presentities = v()?.parse().context("--presentities")?,
            "--watchers" => a.watchers = v()?.parse().context("--watchers")?,
            "--rates" => {
                a.rates = v()?
                    .split(',')
                    .map(|r| r.trim().parse())
                    .collect::<Result<_, _>>()
                    .context("--rates: comma-separated numbers")?
            }
            "--secs" => a.secs = v()?.parse().context("--secs")?,
            "--sockets" => a.sockets = v()?.parse().context("--sockets")?,
            "--pid" => a.pid = Some(v()?.parse().context("--pid")?),
            "--settle-secs" => a.settle_secs = v()?.parse().context("--settle-secs")?,
            other => bail!("unknown option {other} (see bench/presence/run.sh)"),
        }
    }
    Ok(a)
}

/// What the receive tasks share.
#[derive(Default)]
struct Shared {
    /// Call-ID → the waiter for its next final response.
    pending: Mutex<HashMap<String, oneshot::Sender<Response>>>,
    /// Call-ID of a subscription → (presentity index, last sequence number seen).
    last_seen: Mutex<HashMap<String, (usize, u64)>>,
    latencies_us: Mutex<Vec<u64>>,
    notifies: AtomicU64,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    u64::from(std::process::id()) << 32 | NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn socket() -> anyhow::Result<Arc<UdpSocket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    let _ = s.set_recv_buffer_size(4 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    Ok(Arc::new(UdpSocket::from_std(s.into())?))
}

/// Answers NOTIFYs (recording what they show) and hands responses to their waiters.
async fn receive(sock: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((n, from)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        let raw = Bytes::copy_from_slice(&buf[..n]);
        match parse_datagram(raw, &Limits::default()) {
            Ok(Message::Response(r)) if r.status.as_u16() >= 200 => {
                let id = r.headers.call_id().unwrap_or("").to_owned();
                if let Some(tx) = shared
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id)
                {
                    let _ = tx.send(r);
                }
            }
            Ok(Message::Request(req)) => {
                let ok = Response::to_request(&req, StatusCode::OK).to_bytes();
                let _ = sock.send_to(&ok, from).await;
                on_notify(&req, &shared);
            }
            _ => {}
        }
    }
}

fn on_notify(req: &Request, shared: &Shared) {
    shared.notifies.fetch_add(1, Ordering::Relaxed);
    let body = String::from_utf8_lossy(&req.body);
    let Some(rest) = body.split("<note>t=").nth(1) else {
        return;
    };
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let (Some(t), Some(seq)) = (
        parts.next().and_then(|t| t.parse::<u64>().ok()),
        rest.split(" s=")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .and_then(|s| s.parse::<u64>().ok()),
    ) else {
        return;
    };
    shared
        .latencies_us
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(now_us().saturating_sub(t));
    let id = req.headers.call_id().unwrap_or("").to_owned();
    if let Some(e) = shared
        .last_seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(&id)
    {
        e.1 = e.1.max(seq);
    }
}

/// Sends `text` (whose Call-ID is `call_id`) and waits for its final response.
async fn transact(
    sock: &UdpSocket,
    shared: &Shared,
    server: SocketAddr,
    call_id: &str,
    text: String,
) -> anyhow::Result<Response> {
    for _ in 0..4 {
        let (tx, rx) = oneshot::channel();
        shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(call_id.to_owned(), tx);
        sock.send_to(text.as_bytes(), server).await?;
        if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(2), rx).await {
            return Ok(r);
        }
    }
    bail!("no response to {}", text.lines().next().unwrap_or(""))
}

fn user(i: usize) -> (String, String) {
    (format!("u{i:06}"), format!("pw{i:06}"))
}

struct Ctx {
    server: SocketAddr,
    domain: String,
}

impl Ctx {
    /// The text of a request `(method, CSeq)` from `from` to `to` with `(extra headers, body)`.
    fn request(
        &self,
        sock: &UdpSocket,
        (method, cseq): (&str, u32),
        from: &str,
        to: &str,
        call_id: &str,
        (extra, body): (&str, &str),
    ) -> String {
        let local = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let d = &self.domain;
        format!(
            "{method} sip:{to}@{d} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-pl{:x}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{from}@{d}>;tag=pl{call_id}\r\nTo: <sip:{to}@{d}>\r\n\
             Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{from}@{local}>\r\n{extra}\
             Content-Length: {}\r\n\r\n{body}",
            unique(),
            body.len()
        )
    }

    /// SUBSCRIBE with digest; returns when the 200 arrived.
    async fn subscribe(
        &self,
        sock: &UdpSocket,
        shared: &Shared,
        watcher: usize,
        presentity: usize,
    ) -> anyhow::Result<()> {
        let (w, pw) = user(watcher);
        let (p, _) = user(presentity);
        let call_id = format!("s{:x}", unique());
        shared
            .last_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(call_id.clone(), (presentity, 0));
        let extra = "Event: presence\r\nAccept: application/pidf+xml\r\nExpires: 3600\r\n";
        let first = self.request(sock, ("SUBSCRIBE", 1), &w, &p, &call_id, (extra, ""));
        let r = transact(sock, shared, self.server, &call_id, first).await?;
        let ch = challenge(&r)?;
        let uri = format!("sip:{p}@{}", self.domain);
        let auth = format!(
            "{extra}Proxy-Authorization: {}\r\n",
            ch.answer(&w, &pw, "SUBSCRIBE", &uri, 1, "pl")
        );
        let second = self.request(sock, ("SUBSCRIBE", 2), &w, &p, &call_id, (&auth, ""));
        let r = transact(sock, shared, self.server, &call_id, second).await?;
        if r.status.as_u16() != 200 {
            bail!("SUBSCRIBE {w} → {p}: {} {}", r.status.as_u16(), &*r.reason);
        }
        Ok(())
    }
}

fn challenge(r: &Response) -> anyhow::Result<Challenge> {
    let h = r
        .headers
        .get(&HeaderName::ProxyAuthenticate)
        .ok_or_else(|| anyhow!("expected 407, got {} {}", r.status.as_u16(), &*r.reason))?;
    Challenge::parse(h).map_err(|e| anyhow!("bad challenge: {e}"))
}

/// A presentity's publishing state: its challenge, nonce count and entity tag.
struct Publisher {
    index: usize,
    challenge: Challenge,
    nc: u32,
    etag: Option<String>,
    seq: u64,
}

impl Ctx {
    fn pidf(&self, p: &str, seq: u64) -> String {
        format!(
            "<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:{p}@{}\">\
             <tuple id=\"t1\"><status><basic>open</basic></status></tuple><note>t={} s={seq}</note></presence>",
            self.domain,
            now_us()
        )
    }

    /// One PUBLISH (a modification once there is an entity tag).
    async fn publish(
        &self,
        sock: &UdpSocket,
        shared: &Shared,
        p: &mut Publisher,
    ) -> anyhow::Result<()> {
        let (name, pw) = user(p.index);
        p.nc += 1;
        p.seq += 1;
        let uri = format!("sip:{name}@{}", self.domain);
        let auth = p.challenge.answer(&name, &pw, "PUBLISH", &uri, p.nc, "pl");
        let mut extra = format!("Event: presence\r\nExpires: 3600\r\nContent-Type: application/pidf+xml\r\nProxy-Authorization: {auth}\r\n");
        if let Some(e) = &p.etag {
            extra.push_str(&format!("SIP-If-Match: {e}\r\n"));
        }
        let call_id = format!("p{:x}", unique());
        let body = self.pidf(&name, p.seq);
        let text = self.request(
            sock,
            ("PUBLISH", 1),
            &name,
            &name,
            &call_id,
            (&extra, &body),
        );
        let r = transact(sock, shared, self.server, &call_id, text).await?;
        if r.status.as_u16() != 200 {
            bail!("PUBLISH {name}: {} {}", r.status.as_u16(), &*r.reason);
        }
        p.etag = r.headers.get(&HeaderName::SipETag).map(str::to_owned);
        Ok(())
    }

    async fn publisher(
        &self,
        sock: &UdpSocket,
        shared: &Shared,
        index: usize,
    ) -> anyhow::Result<Publisher> {
        let (name, _) = user(index);
        let call_id = format!("c{:x}", unique());
        let extra = "Event: presence\r\nContent-Type: application/pidf+xml\r\n";
        let body = self.pidf(&name, 0);
        let text = self.request(sock, ("PUBLISH", 1), &name, &name, &call_id, (extra, &body));
        let r = transact(sock, shared, self.server, &call_id, text).await?;
        let mut p = Publisher {
            index,
            challenge: challenge(&r)?,
            nc: 0,
            etag: None,
            seq: 0,
        };
        self.publish(sock, shared, &mut p).await?;
        Ok(p)
    }
}

/// The server's process and its descendants (Kamailio works in forked children).
fn tree(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if let Some(pp) = ppid {
                parent_of.push((p, pp));
            }
        }
    }
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        all.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    all
}

/// The server's proportional set size (shared pages counted once) summed over its
/// process tree, KiB.
fn pss_kib(pid: Option<u32>) -> Option<u64> {
    let mut total = 0;
    for p in tree(pid?) {
        let s = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).unwrap_or_default();
        total += s
            .lines()
            .find(|l| l.starts_with("Pss:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(total)
}

/// The server's CPU time (user + system) in clock ticks, summed over its process tree.
fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let mut total = 0;
    for p in tree(pid?) {
        let s = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let Some((_, after)) = s.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = after.split_whitespace().collect();
        total += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    Some(total)
}

fn percentile(v: &mut [u64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let ctx = Arc::new(Ctx {
        server: a.server,
        domain: a.domain.clone(),
    });
    let shared = Arc::new(Shared::default());
    let mut socks = Vec::new();
    for _ in 0..a.sockets.max(1) {
        let s = socket().await?;
        tokio::spawn(receive(s.clone(), shared.clone()));
        socks.push(s);
    }
    let subs = a.presentities * a.watchers;
    let started = Instant::now();
    // Two waves: the memory one costs is the difference between the server after the
    // first and after the second (the first also pays for warming up allocators).
    let half = subs / 2;
    let mut pss = Vec::new();
    for (from, to) in [(0, half), (half, subs)] {
        let mut tasks = Vec::new();
        for (k, sock) in socks.iter().enumerate() {
            let (ctx, shared, sock) = (ctx.clone(), shared.clone(), sock.clone());
            let (np, ns) = (a.presentities, socks.len());
            tasks.push(tokio::spawn(async move {
                for n in (from + k..to).step_by(ns) {
                    let (p, w) = (1 + n % np, 1 + np + n / np);
                    ctx.subscribe(&sock, &shared, w, p).await?;
                }
                Ok::<_, anyhow::Error>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        tokio::time::sleep(Duration::from_secs(a.settle_secs.max(1))).await;
        pss.push(pss_kib(a.pid));
    }
    println!(
        "# {subs} subscriptions ({} presentities × {} watchers) in {:.1} s (with {} s pauses)",
        a.presentities,
        a.watchers,
        started.elapsed().as_secs_f64(),
        a.settle_secs * 2
    );
    if let [Some(r0), Some(r1)] = pss[..] {
        let n = (subs - half).max(1) as f64;
        println!(
            "# server memory (PSS) {r0} KiB after {half}, {r1} KiB after {subs}: {:.0} bytes per subscription ({:.1} MiB per 10,000)",
            (r1.saturating_sub(r0) * 1024) as f64 / n,
            r1.saturating_sub(r0) as f64 * 10_000.0 / n / 1024.0
        );
    }
    let psock = socket().await?;
    tokio::spawn(receive(psock.clone(), shared.clone()));
    let mut pubs = Vec::new();
    for i in 1..=a.presentities {
        pubs.push(ctx.publisher(&psock, &shared, i).await?);
    }
    settle(&shared).await;
    let mut best: Option<(u32, f64, f64, f64)> = None;
    for &rate in &a.rates {
        shared
            .latencies_us
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let n0 = shared.notifies.load(Ordering::Relaxed);
        let cpu0 = cpu_ticks(a.pid);
        let total = rate as u64 * a.secs;
        let t0 = Instant::now();
        let mut errors = 0u64;
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
        for i in 0..total {
            tick.tick().await;
            let p = &mut pubs[i as usize % a.presentities];
            if let Err(e) = ctx.publish(&psock, &shared, p).await {
                errors += 1;
                eprintln!("{e}");
            }
        }
        // The step lasts `secs` (the first tick is immediate, so measure at least that).
        let sent_secs = t0.elapsed().as_secs_f64().max(a.secs as f64);
        settle(&shared).await;
        let delivered = shared.notifies.load(Ordering::Relaxed) - n0;
        // Clock ticks are 1/100 s on Linux.
        let cpu = match (cpu0, cpu_ticks(a.pid)) {
            (Some(c0), Some(c1)) if delivered > 0 => {
                format!(
                    "{:.2}",
                    (c1 - c0) as f64 / 100.0 * 10_000.0 / delivered as f64
                )
            }
            _ => "-".into(),
        };
        let achieved = total as f64 / sent_secs;
        let stale = {
            let seen = shared.last_seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.values()
                .filter(|(p, s)| *s != pubs[*p - 1].seq)
                .count()
        };
        let mut lat = std::mem::take(
            &mut *shared
                .latencies_us
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        let (p50, p99) = (percentile(&mut lat, 0.5), percentile(&mut lat, 0.99));
        let nps = delivered as f64 / sent_secs;
        // A step the publisher could not keep up (the server answered PUBLISH late) fails
        // too: the rate was not sustained.
        let ok = errors == 0 && stale == 0 && achieved >= 0.9 * f64::from(rate);
        println!(
            "publish {rate:>6}/s (achieved {achieved:>8.1}/s)  {}  NOTIFY {nps:>9.0}/s  delivered {delivered:>8}  stale {stale:>6}  errors {errors}  latency p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  server cpu {cpu} s/10k NOTIFY",
            if ok { "ok  " } else { "FAIL" },
        );
        if !ok {
            break;
        }
        best = Some((rate, nps, p50, p99));
    }
    match best {
        Some((rate, nps, p50, p99)) => println!(
            "# highest rate with zero failures: {rate} PUBLISH/s → {nps:.0} NOTIFY/s delivered, PUBLISH→NOTIFY p50 {p50:.2} ms, p99 {p99:.2} ms"
        ),
        None => println!("# no step passed"),
    }
    Ok(())
}

/// Waits until no NOTIFY arrived for a second (at most 30 s).
async fn settle(shared: &Shared) {
    let mut last = shared.notifies.load(Ordering::Relaxed);
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = shared.notifies.load(Ordering::Relaxed);
        if now == last {
            return;
        }
        last = now;
    }
}

//! The HTTP side of the forwarder (axum): `/ws`, the page at `/`, `/stats`, `/metrics`.
//!
//! Each WebSocket connection has one writer loop fed by its own bounded queue
//! ([`super::queue`]); it sends a keep-alive (a ping and a `keepalive` notice)
//! when nothing else was sent for `keepalive`, closes with a reason when the
//! client was too slow for too long or the forwarder stops, and ends when the
//! client goes away. Nothing here can block the Kafka side.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::hub::{Hub, Start};
use super::latency::ForwardStats;
use super::metrics::ForwardMetrics;
use super::notice::Notice;
use super::queue::{ClientQueue, Outgoing};
use super::ForwardSettings;
use crate::pipeline::metrics::Metrics;

/// Close codes (RFC 6455): going away, policy violation, try again later.
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_TOO_SLOW: u16 = 1008;
const CLOSE_TRY_LATER: u16 = 1013;
/// How long a close frame may wait behind what the client has not read yet.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// What every handler shares.
#[derive(Clone)]
pub struct Context {
    pub hub: Arc<Hub>,
    pub stats: Arc<ForwardStats>,
    pub metrics: ForwardMetrics,
    pub registry: Metrics,
    pub settings: ForwardSettings,
    pub stopped: watch::Receiver<bool>,
}

/// Serves until the forwarder stops.
pub async fn serve(listener: TcpListener, ctx: Context) {
    let mut stopped = ctx.stopped.clone();
    let app = Router::new()
        .route("/", get(|| async { Html(super::page::INDEX_HTML) }))
        .route("/ws", get(upgrade))
        .route("/stats", get(stats))
        .route("/metrics", get(|State(ctx): State<Context>| async move { ctx.registry.render() }))
        .with_state(ctx);
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        tracing::error!("forwarder: HTTP server failed: {e}");
    }
}

async fn stats(State(ctx): State<Context>) -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "totals": ctx.stats.totals(),
        "clients": ctx.hub.clients_connected(),
        "next_index": ctx.hub.next_index(),
    }))
}

/// `?last=N` replays the newest N records first; `?from=INDEX` resumes after a reconnect.
#[derive(Debug, Deserialize)]
struct WsQuery {
    last: Option<u64>,
    from: Option<u64>,
}

async fn upgrade(ws: WebSocketUpgrade, Query(q): Query<WsQuery>, State(ctx): State<Context>) -> impl IntoResponse {
    ws.on_upgrade(move |socket| connection(socket, Start { last: q.last, from: q.from }, ctx))
}

async fn connection(mut socket: WebSocket, start: Start, ctx: Context) {
    let joined = match ctx.hub.join(start) {
        Ok(j) => j,
        Err(refused) => {
            ctx.metrics.dropped.with_label_values(&["refused"]).inc();
            tracing::warn!("forwarder: client refused: {refused}");
            let _ = socket.send(close(CLOSE_TRY_LATER, &refused.to_string())).await;
            return;
        }
    };
    ctx.metrics.clients.inc();
    let (mut sink, stream) = socket.split();
    let mut reader = tokio::spawn(read_until_closed(stream));
    let ended = write_loop(&mut sink, &joined.queue, &ctx, &mut reader).await;
    ctx.hub.leave(joined.id);
    ctx.metrics.clients.dec();
    reader.abort();
    if let Some((code, reason)) = ended {
        tracing::info!("forwarder: closing a client: {reason}");
        let last = match code {
            CLOSE_GOING_AWAY => Some(Notice::Closing { reason: reason.clone() }),
            _ => joined.queue.abandon(),
        };
        let goodbye = async {
            if let Some(notice) = last {
                sink.send(Message::Text(notice.to_json().into())).await?;
            }
            sink.send(close(code, &reason)).await
        };
        let _ = tokio::time::timeout(CLOSE_WAIT, goodbye).await;
    }
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// Reads (and discards) what the client sends until it closes; pongs are answered by the library.
async fn read_until_closed(mut stream: SplitStream<WebSocket>) {
    while let Some(Ok(msg)) = stream.next().await {
        if matches!(msg, Message::Close(_)) {
            break;
        }
    }
}

/// Why the writer stopped.
enum Step {
    Sent,
    Evicted(String),
    Stopped,
    Gone,
}

/// Sends until the client goes (None) or must be closed (code and reason).
async fn write_loop(
    sink: &mut SplitSink<WebSocket, Message>,
    queue: &ClientQueue,
    ctx: &Context,
    reader: &mut tokio::task::JoinHandle<()>,
) -> Option<(u16, String)> {
    let mut stopped = ctx.stopped.clone();
    loop {
        let step = tokio::select! {
            biased;
            reason = queue.evicted() => Step::Evicted(reason),
            _ = stopped.wait_for(|s| *s) => Step::Stopped,
            _ = &mut *reader => Step::Gone,
            sent = send_next(sink, queue, ctx) => if sent { Step::Sent } else { Step::Gone },
        };
        match step {
            Step::Sent => continue,
            Step::Gone => return None,
            Step::Evicted(reason) => {
                // What is still queued is never sent: counted here, announced by `abandon`.
                ctx.metrics.dropped.with_label_values(&["slow-client"]).inc_by(queue.queued() as u64);
                ctx.stats.record_evicted();
                return Some((CLOSE_TOO_SLOW, reason));
            }
            Step::Stopped => return Some((CLOSE_GOING_AWAY, "the forwarder is shutting down".into())),
        }
    }
}

/// Messages written before one flush: fewer system calls when a client has a backlog.
const WRITE_BATCH: usize = 64;

/// Waits for the next record or notice (or the keep-alive time) and sends it,
/// with whatever else is ready (up to [`WRITE_BATCH`]), in one flush. False if the client is gone.
async fn send_next(sink: &mut SplitSink<WebSocket, Message>, queue: &ClientQueue, ctx: &Context) -> bool {
    let first = match tokio::time::timeout(ctx.settings.keepalive, queue.next()).await {
        Ok(out) => out,
        Err(_) => return keepalive(sink, ctx).await,
    };
    let mut batch = vec![first];
    while batch.len() < WRITE_BATCH {
        match queue.try_next() {
            Some(out) => batch.push(out),
            None => break,
        }
    }
    for out in &batch {
        let msg = match out {
            Outgoing::Notice(n) => Message::Text(n.to_json().into()),
            Outgoing::Record(r) => Message::Binary(r.frame.clone()),
        };
        if sink.feed(msg).await.is_err() {
            return false;
        }
    }
    if sink.flush().await.is_err() {
        return false;
    }
    for out in &batch {
        if let Outgoing::Record(r) = out {
            ctx.metrics.messages.inc();
            ctx.metrics.bytes.inc_by(r.frame.len() as u64);
            let added = r.received_at.elapsed();
            ctx.metrics.added_latency.observe(added.as_secs_f64());
            ctx.stats.record_added(added);
        }
    }
    true
}

/// A WebSocket ping and a `keepalive` notice.
async fn keepalive(sink: &mut SplitSink<WebSocket, Message>, ctx: &Context) -> bool {
    let at_us = ctx.settings.clock.now_us();
    sink.send(Message::Ping(Vec::new().into())).await.is_ok() && sink.send(Message::Text(Notice::KeepAlive { at_us }.to_json().into())).await.is_ok()
}

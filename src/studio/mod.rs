//! Studio: `castbook studio`, a local web page to read a tagged story,
//! hear its lines, fix their speakers and voices, and render it.
//!
//! The studio sits at the top of the crate, beside the binary's commands:
//! it drives every stage (ingest to render) and nothing below uses it.
//!
//! All state lives in the two files castbook already uses: the script
//! (`castbook script --format text`'s format) and voices.toml. The page is
//! a view of them, and every change is written to them at once (see
//! [`doc`] for how stale changes are refused). Audio comes from the same
//! segment cache a render uses ([`crate::render::preview`]), through one
//! long-lived worker process, so a line heard once plays instantly after,
//! and a render meets the chunks the studio already made.
//!
//! The server (`http`) binds 127.0.0.1 unless told otherwise, serves a
//! page embedded in the binary (no build step, nothing fetched from
//! elsewhere), and has no route that takes a path: the only files it
//! writes are the script, voices.toml and the output folder, and the only
//! files it reads for the network are the page's own, the output files a
//! manifest names, and audio it makes. Requests whose `Host` or `Origin`
//! is not this server (DNS rebinding, cross-site pages) are refused.

pub mod confidence;
pub mod doc;
mod http;
mod job;
mod listen;
mod service;
mod view;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

pub use service::Studio;

/// Everything `castbook studio` was asked for, resolved.
#[derive(Debug, Clone)]
pub struct Options {
    /// A plain story or a script.
    pub story: PathBuf,
    /// voices.toml: read if it exists, written (created if need be) when a
    /// voice or gender changes.
    pub voices: PathBuf,
    /// Where a plain story's edits go (default: `STORY.script`).
    pub script: Option<PathBuf>,
    /// Output folder of renders (default: `output/<story-slug>/`).
    pub out: Option<PathBuf>,
    /// Address to listen on: 127.0.0.1 unless the user says otherwise.
    pub listen: IpAddr,
    /// None: 4870 if free, else any free port.
    pub port: Option<u16>,
    /// The castbook binary, started as synthesis workers.
    pub program: PathBuf,
    /// Synthesis processes for a render.
    pub jobs: usize,
}

/// The port tried first when none is given.
pub const DEFAULT_PORT: u16 = 4870;

#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    #[error(transparent)]
    Doc(#[from] doc::DocError),
    #[error("cannot listen on {addr}: {source}{hint}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("the studio's server failed: {0}")]
    Server(std::io::Error),
}

/// Opens the story, starts the server, prints its address on standard
/// output, and serves until the process is stopped.
pub fn run(options: Options) -> Result<(), StudioError> {
    let studio = std::sync::Arc::new(Studio::open(&options)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .build()
        .map_err(StudioError::Server)?;
    runtime.block_on(async move {
        let listener = bind(options.listen, options.port).await?;
        let addr = listener.local_addr().map_err(StudioError::Server)?;
        studio
            .announce(addr, &options)
            .map_err(StudioError::Server)?;
        axum::serve(listener, http::router(studio, addr.port()))
            .await
            .map_err(StudioError::Server)
    })
}

async fn bind(ip: IpAddr, port: Option<u16>) -> Result<tokio::net::TcpListener, StudioError> {
    let listen = |port| async move {
        let addr = SocketAddr::new(ip, port);
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| (addr, source))
    };
    let result = match port {
        Some(port) => listen(port).await,
        // The usual port if it is free (a bookmark keeps working), else any.
        None => match listen(DEFAULT_PORT).await {
            Ok(listener) => Ok(listener),
            Err(_) => listen(0).await,
        },
    };
    result.map_err(|(addr, source)| StudioError::Listen {
        hint: if source.kind() == std::io::ErrorKind::AddrInUse {
            "; another program uses that port: pass --port with another number (0 picks a free one)"
        } else {
            ""
        },
        addr,
        source,
    })
}

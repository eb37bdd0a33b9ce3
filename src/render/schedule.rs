//! Scheduling: which chunks need synthesis, who synthesises them, and the
//! progress bar.
//!
//! Chunks missing from the cache become [`Job`]s in book order. With a
//! worker program they go to worker processes ([`super::worker`]) that fill
//! the cache while this process assembles chapters, waiting only for the
//! chunk it needs next; without one (tests) they are synthesised here,
//! one at a time, as assembly reaches them.

use std::collections::HashSet;

use super::RenderError;
use super::plan::Planned;
use super::worker::{Job, Pool, synthesize_chunk};
use crate::cache::{CachedClip, Key, SegmentCache};
use crate::synth::Engines;

/// Called as utterances are placed in their chapter (drives the progress bar).
pub trait Progress {
    fn advance(&self, n: u64);
}

impl Progress for indicatif::ProgressBar {
    fn advance(&self, n: u64) {
        self.inc(n);
    }
}

impl Progress for () {
    fn advance(&self, _: u64) {}
}

/// The chunks of unfinished chapters that the cache lacks, once each, in
/// book order, and how many utterances they hold.
pub(super) fn missing_chunks<'a>(
    plans: &[Planned<'a>],
    cache: &SegmentCache,
) -> (Vec<Job<'a>>, usize) {
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    let mut synthesised = 0;
    for planned in plans.iter().filter(|p| !p.finished) {
        let utterances = &planned.chapter.utterances;
        for chunk in &planned.chunks {
            if seen.insert(chunk.key) && !cache.contains(&chunk.key) {
                synthesised += chunk.members.len();
                jobs.push(Job {
                    key: chunk.key,
                    voice: &utterances[chunk.members[0] as usize].voice,
                    texts: chunk
                        .members
                        .iter()
                        .map(|&m| &*utterances[m as usize].text)
                        .collect(),
                });
            }
        }
    }
    (jobs, synthesised)
}

/// Where clips come from during assembly.
pub(super) enum Source<'e> {
    /// Synthesise missing chunks here, one at a time, as they are needed.
    InProcess {
        engines: &'e mut Engines,
        done: Vec<bool>,
    },
    /// Workers are filling the cache; wait for them.
    Workers(Pool),
}

impl Source<'_> {
    /// Member `member` of chunk `key` and its loudness gain; `job` is the
    /// chunk's index in the to-synthesise list, and the job.
    pub(super) fn fetch(
        &mut self,
        key: &Key,
        member: u32,
        job: Option<(usize, &Job)>,
        cache: &SegmentCache,
    ) -> Result<(CachedClip, f32), RenderError> {
        match (self, job) {
            (Source::InProcess { engines, done }, Some((n, job))) if !done[n] => {
                synthesize_chunk(engines, cache, key, job.voice, &job.texts)?;
                done[n] = true;
            }
            (Source::Workers(pool), Some((n, _))) => pool.wait(n)?,
            _ => {}
        }
        Ok(cache.read_member(key, member as usize)?)
    }
}

/// Member `.1` of chunk `.0` and its loudness gain, once it is in the cache.
pub(super) type Fetch<'f> = dyn FnMut(&Key, u32) -> Result<(CachedClip, f32), RenderError> + 'f;

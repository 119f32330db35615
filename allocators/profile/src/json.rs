//! Writing a profile in DHAT's JSON format (version 2), by hand, into the
//! private heap.
//!
//! The fields, as DHAT's viewer reads them: the header (`dhatFileVersion`,
//! `mode`, `verb`, `bklt`, `bkacc`, `tu`, `Mtu`, `tuth`, `cmd`, `pid`,
//! `tg`, `te`), `pps` (one object per program point: `tb`, `tbk`, `tl`,
//! `mb`, `mbk`, `gb`, `gbk`, `eb`, `ebk` and `fs`, its frames as indices
//! into `ftbl`), and `ftbl`, the frame table, whose entry 0 is `"[root]"`.
//! No two points may have the same `fs` (the viewer stops with "repeated
//! location"), so points whose frames coincide once trimmed and named are
//! merged: their counts add, and the merged `mb`/`mbk` is the sum of the
//! parts' maxima (an upper bound of the true maximum, which the parts'
//! separate records cannot give).

use core::fmt::{self, Write};

use hashbrown::HashMap;

use crate::Profiled;
use crate::point::{FxBuild, PointKey};
use crate::private::{Private, PrivateVec};
use crate::tables::PointInfo;

/// The name of the frame of allocations made while no tag was set.
pub(crate) const UNTAGGED: &str = "[untagged]";

/// A profile in DHAT's JSON format, in the private heap.
pub struct Profile {
    bytes: PrivateVec<u8>,
}

impl Profile {
    /// An empty profile (zero bytes).
    #[cfg(feature = "std")]
    pub(crate) fn empty() -> Self {
        Self {
            bytes: PrivateVec::new_in(Private),
        }
    }

    /// The JSON text's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The JSON text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // The writer only ever appends whole `str`s.
        core::str::from_utf8(&self.bytes).unwrap_or("")
    }

    /// The length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether it has no bytes (a profile asked for from inside the
    /// profiler).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl core::fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile").field("len", &self.len()).finish()
    }
}

/// Appends text to a private vector.
struct Out<'a>(&'a mut PrivateVec<u8>);

impl Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Writes `s` as a JSON string, quotes included.
fn string(out: &mut Out<'_>, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

/// The frame table being built: each distinct frame name once, `[root]`
/// first.
pub(crate) struct Frames {
    names: PrivateVec<PrivateVec<u8>>,
    index: HashMap<PrivateVec<u8>, u32, FxBuild, Private>,
}

impl Frames {
    fn new() -> Self {
        let mut frames = Self {
            names: PrivateVec::new_in(Private),
            index: HashMap::with_hasher_in(FxBuild, Private),
        };
        frames.intern("[root]");
        frames
    }

    /// The index of the frame named `name`, added if new.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        let mut key = PrivateVec::new_in(Private);
        key.extend_from_slice(name.as_bytes());
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(key.clone());
        self.index.insert(key, i);
        i
    }
}

/// One program point as written.
struct Row {
    info: PointInfo,
    lifetimes: u64,
}

impl Row {
    fn absorb(&mut self, other: &Row) {
        let (a, b) = (&mut self.info, &other.info);
        let (c, d) = (&mut a.counts, &b.counts);
        c.total_blocks += d.total_blocks;
        c.total_bytes += d.total_bytes;
        c.curr_blocks += d.curr_blocks;
        c.curr_bytes += d.curr_bytes;
        c.max_blocks += d.max_blocks;
        c.max_bytes += d.max_bytes;
        a.at_peak_blocks += b.at_peak_blocks;
        a.at_peak_bytes += b.at_peak_bytes;
        self.lifetimes += other.lifetimes;
    }
}

/// Builds `p`'s profile.
pub(crate) fn write<A>(p: &Profiled<A>) -> Profile {
    let config = *p.config();
    // Copy what is needed out of the tables, so the lock is not held while
    // frames are named.
    let (mut points, tg, te) = p.state().with(|s| {
        // The end may be the peak.
        s.tables.check_for_peak();
        let now = s.now(&config, false);
        let lifetimes = s.tables.lifetimes_at(now);
        let mut points = PrivateVec::new_in(Private);
        points.reserve_exact(s.tables.points.len());
        for (key, &i) in &s.tables.points {
            let row = Row {
                info: s.tables.infos[i as usize],
                lifetimes: lifetimes.get(i as usize).copied().unwrap_or(0),
            };
            points.push((*key, i, row));
        }
        (points, s.tables.peak_at, now)
    });
    // First seen, first written.
    points.sort_unstable_by_key(|&(_, i, _)| i);

    let mut frames = Frames::new();
    let mut rows: PrivateVec<(PrivateVec<u32>, Row)> = PrivateVec::new_in(Private);
    let mut seen: HashMap<PrivateVec<u32>, usize, FxBuild, Private> =
        HashMap::with_hasher_in(FxBuild, Private);
    for (key, _, row) in points.drain(..) {
        let mut fs = PrivateVec::new_in(Private);
        match key {
            PointKey::Tag(tag) => fs.push(frames.intern(tag.unwrap_or(UNTAGGED))),
            PointKey::Frames { .. } => {
                #[cfg(feature = "std")]
                crate::symbols::name_frames(key.frames(), config.depth, &mut frames, &mut fs);
            }
        }
        if fs.is_empty() {
            fs.push(frames.intern("[unknown]"));
        }
        match seen.get(&fs) {
            Some(&at) => rows[at].1.absorb(&row),
            None => {
                seen.insert(fs.clone(), rows.len());
                rows.push((fs, row));
            }
        }
    }

    let mut bytes = PrivateVec::new_in(Private);
    let mut out = Out(&mut bytes);
    // `Out` never fails.
    let _ = emit(&mut out, &config, tg, te, &rows, &frames);
    Profile { bytes }
}

fn emit(
    out: &mut Out<'_>,
    config: &crate::Config,
    tg: u64,
    te: u64,
    rows: &[(PrivateVec<u32>, Row)],
    frames: &Frames,
) -> fmt::Result {
    let (tu, mtu) = if config.uses_micros() {
        ("µs", "s")
    } else {
        ("allocs", "Mallocs")
    };
    out.write_str("{\"dhatFileVersion\":2\n,\"mode\":\"rust-heap\"\n,\"verb\":\"Allocated\"\n")?;
    out.write_str(",\"bklt\":true\n,\"bkacc\":false\n")?;
    write!(
        out,
        ",\"tu\":\"{tu}\"\n,\"Mtu\":\"{mtu}\"\n,\"tuth\":10\n,\"cmd\":"
    )?;
    command(out, config)?;
    write!(out, "\n,\"pid\":{}\n", pid())?;
    write!(out, ",\"tg\":{tg}\n,\"te\":{te}\n,\"pps\":\n[")?;
    for (n, (fs, row)) in rows.iter().enumerate() {
        let (i, c) = (&row.info, &row.info.counts);
        if n > 0 {
            out.write_str("\n,")?;
        }
        write!(
            out,
            "{{\"tb\":{},\"tbk\":{},\"tl\":{}\n ,\"mb\":{},\"mbk\":{}\n ,\"gb\":{},\"gbk\":{}\n ,\"eb\":{},\"ebk\":{}\n ,\"fs\":[",
            c.total_bytes,
            c.total_blocks,
            row.lifetimes,
            c.max_bytes,
            c.max_blocks,
            i.at_peak_bytes,
            i.at_peak_blocks,
            c.curr_bytes,
            c.curr_blocks,
        )?;
        for (k, f) in fs.iter().enumerate() {
            if k > 0 {
                out.write_char(',')?;
            }
            write!(out, "{f}")?;
        }
        out.write_str("]\n }")?;
    }
    out.write_str("\n]\n,\"ftbl\":\n[")?;
    for (n, name) in frames.names.iter().enumerate() {
        if n > 0 {
            out.write_str("\n,")?;
        }
        string(out, core::str::from_utf8(name).unwrap_or("?"))?;
    }
    out.write_str("\n]\n}\n")
}

/// The command line on a std host, else the configured name.
fn command(out: &mut Out<'_>, config: &crate::Config) -> fmt::Result {
    #[cfg(feature = "std")]
    {
        let _ = config;
        let mut line = std::string::String::new();
        for (n, arg) in std::env::args().enumerate() {
            if n > 0 {
                line.push(' ');
            }
            line.push_str(&arg);
        }
        string(out, &line)
    }
    #[cfg(not(feature = "std"))]
    string(out, config.name)
}

/// The process id on a std host, else 0.
fn pid() -> u32 {
    #[cfg(feature = "std")]
    {
        std::process::id()
    }
    #[cfg(not(feature = "std"))]
    0
}

//! Timing on a noisy, shared machine: contestants interleaved round by round,
//! each sample long enough to swamp the timer, medians over many rounds, and
//! ratios taken between samples measured back to back.

use std::hint::black_box;
use std::time::{Duration, Instant};

use polyalloc_bench::contestants::Visitor;
use polyalloc_bench::matrix::{MULTIPLY_ADDS, Matrices};
use polyalloc_bench::requested::Requested;
use polyalloc_bench::workloads::Input;
use polyalloc_bench::{Contestant, Workload};

/// How much to measure.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Rounds; each round takes one sample of every contestant.
    pub rounds: usize,
    /// Roughly how long one sample runs.
    pub sample: Duration,
}

/// One contestant set up for one workload, with its own input, behind a
/// type-erased closure that runs `reps` rounds and returns the time they
/// took and the operations done.
///
/// Every sample starts from a fresh allocator, warmed up by one untimed
/// round, and returns its memory when it ends: its memory comes from new
/// pages each time, so one unlucky placement (cache sets, page alignment)
/// cannot bias a whole row, and the A/A row sees that variation too. (An
/// allocator kept until the row's next sample left each row its own part of
/// the address space, which the next allocator of the same row then reused:
/// buddy_system_allocator's A/A row on `pow2` sat at 0.85–0.92 in each
/// of three runs that way.)
pub struct Runner {
    /// Row key (`core`, `bumpalo`, `bumpalo-aa`, ...).
    pub key: &'static str,
    /// Row name.
    pub name: &'static str,
    run: Box<dyn FnMut(u64) -> (Duration, u64)>,
    /// Rounds of the workload per sample, set by calibration.
    reps: u64,
}

impl Runner {
    /// Sets up contestant `C` for `workload`.
    pub fn new<C: Contestant + 'static>(
        key: &'static str,
        name: &'static str,
        workload: Workload,
    ) -> Self {
        Self::with_setup::<C>(key, name, workload, |_| {})
    }

    /// Sets up contestant `C` for `workload`, `setup` applied to every fresh
    /// allocator before its warm-up round (the threshold sweep sets the
    /// adaptive heap's policy there).
    pub fn with_setup<C: Contestant + 'static>(
        key: &'static str,
        name: &'static str,
        workload: Workload,
        setup: impl Fn(&mut C) + 'static,
    ) -> Self {
        let mut input = Input::new();
        Self::from_fn(key, name, move |reps| {
            let mut c = C::new();
            setup(&mut c);
            workload.run(&mut c, &mut input);
            let start = Instant::now();
            let mut ops = 0;
            for _ in 0..reps {
                ops += workload.run(&mut c, &mut input);
            }
            let t = start.elapsed();
            // The allocator goes now, untimed, its memory returned.
            drop(c);
            (t, ops)
        })
    }

    /// Sets up contestant `C` for the first round of `workload`: every
    /// repetition times one round on a fresh allocator (no warm-up: its
    /// first memory from the OS, and for the adaptive heap its first
    /// decisions, are in the figure); making and dropping the allocator are
    /// not timed.
    pub fn cold<C: Contestant + 'static>(
        key: &'static str,
        name: &'static str,
        workload: Workload,
    ) -> Self {
        let mut input = Input::new();
        Self::from_fn(key, name, move |reps| {
            let mut t = Duration::ZERO;
            let mut ops = 0;
            for _ in 0..reps {
                let mut c = C::new();
                let start = Instant::now();
                ops += workload.run(&mut c, &mut input);
                t += start.elapsed();
                drop(c);
            }
            (t, ops)
        })
    }

    /// Sets up contestant `C` for the `matrix` measurement: every sample
    /// allocates the three matrices from a fresh `C` and fills them
    /// (untimed), times `reps` multiplies (one operation is a
    /// multiply-add), then frees them.
    pub fn matrix<C: Contestant + 'static>(key: &'static str, name: &'static str) -> Self {
        Self::from_fn(key, name, |reps| {
            let mut c = C::new();
            let mut m = Matrices::new(&mut c);
            let start = Instant::now();
            for _ in 0..reps {
                black_box(m.multiply());
            }
            let t = start.elapsed();
            // SAFETY: the rows came from `c`.
            unsafe { m.free(&mut c) };
            (t, reps * MULTIPLY_ADDS)
        })
    }

    /// A row whose samples `run` takes: given a repetition count, it returns
    /// the time they took and the operations done.
    fn from_fn(
        key: &'static str,
        name: &'static str,
        run: impl FnMut(u64) -> (Duration, u64) + 'static,
    ) -> Self {
        Self {
            key,
            name,
            run: Box::new(run),
            reps: 1,
        }
    }

    /// Runs `reps` rounds; returns the time taken and the operations done.
    fn time(&mut self, reps: u64) -> (Duration, u64) {
        (self.run)(reps)
    }

    /// Picks the rounds per sample that make a sample last about `target`,
    /// timing doubling repetition counts until one takes an eighth of it.
    fn calibrate(&mut self, target: Duration) {
        let mut reps = 1;
        loop {
            let (t, _) = self.time(reps);
            if t >= target / 8 || reps >= 1 << 30 {
                let per_rep = t.as_secs_f64() / reps as f64;
                self.reps = ((target.as_secs_f64() / per_rep).ceil() as u64).max(1);
                return;
            }
            reps *= 2;
        }
    }

    /// One sample: nanoseconds per operation.
    fn sample(&mut self) -> f64 {
        let (t, ops) = self.time(self.reps);
        t.as_nanos() as f64 / ops as f64
    }
}

/// The samples of one contestant, one per round, in round order.
pub struct Series {
    /// Row key.
    pub key: &'static str,
    /// Row name.
    pub name: &'static str,
    /// Nanoseconds per operation, one per round.
    pub ns_per_op: Vec<f64>,
}

impl Series {
    /// Median nanoseconds per operation.
    pub fn median(&self) -> f64 {
        quantile(&self.ns_per_op, 0.5)
    }

    /// The per-round ratios `self / base`: each pair was measured within one
    /// round, close in time, so slow drifts in the machine's load cancel.
    pub fn ratios(&self, base: &Series) -> Vec<f64> {
        self.ns_per_op
            .iter()
            .zip(&base.ns_per_op)
            .map(|(a, b)| a / b)
            .collect()
    }
}

/// Measures every runner for `plan.rounds` rounds. Each round visits the
/// runners in a different order (rotated by one, and reversed every other
/// round), so no contestant always runs first, or always right after the
/// same neighbour.
pub fn compare(mut runners: Vec<Runner>, plan: &Plan) -> Vec<Series> {
    for r in &mut runners {
        r.calibrate(plan.sample);
    }
    let n = runners.len();
    let mut samples = vec![Vec::with_capacity(plan.rounds); n];
    for round in 0..plan.rounds {
        for step in 0..n {
            let k = (round + step) % n;
            let i = if round % 2 == 0 { k } else { n - 1 - k };
            samples[i].push(runners[i].sample());
        }
    }
    runners
        .iter()
        .zip(samples)
        .map(|(r, ns_per_op)| Series {
            key: r.key,
            name: r.name,
            ns_per_op,
        })
        .collect()
}

/// The `q` quantile (0 to 1) of `values`, interpolating linearly; NaN for
/// none.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// One contestant's peak bytes reserved from the OS over one round, and the
/// most bytes the round had live in requests.
pub struct Peak {
    /// Row key.
    pub key: String,
    /// The bytes, or `None` where nothing counts them.
    pub bytes: Option<usize>,
    /// The peak of the bytes live in requests (the layouts' sizes).
    pub requested: usize,
}

/// The peak-memory pass for `workload`: every contestant of its group's
/// peak list, each on a fresh allocator counting its requests
/// ([`Requested`]), one untimed round, its meters read at the end. Memory
/// the round leaves reserved is not the point: the peak is, and the meters
/// keep it.
pub fn peaks(workload: Workload) -> Vec<Peak> {
    struct Pass {
        workload: Workload,
        out: Vec<Peak>,
    }
    impl Visitor for Pass {
        fn visit<C: Contestant + 'static>(&mut self) {
            // The input first, so a contestant that reads the process's heap
            // (the system allocator) sees it as already in use.
            let mut input = Input::new();
            let mut c = Requested::<C>::new();
            self.workload.run(&mut c, &mut input);
            self.out.push(Peak {
                key: C::KEY.to_owned(),
                bytes: c.peak_reserved(),
                requested: c.meter().peak(),
            });
        }
    }
    let mut pass = Pass {
        workload,
        out: Vec::new(),
    };
    workload.group().for_each_peak(&mut pass);
    pass.out
}

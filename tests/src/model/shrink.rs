//! A sequence strategy that shrinks by deleting operations.
//!
//! proptest's `vec(op, n..=n)` never shrinks below `n` elements, and
//! `vec(op, 0..=n)` would draw half as many operations on average. This
//! strategy always draws exactly `len` operations, and on failure first
//! deletes halves, quarters, ... down to single operations (like delta
//! debugging), then simplifies the operations that are left, so a failure
//! shrinks to the few steps that cause it.

use proptest::strategy::{BoxedStrategy, NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;

/// Exactly `len` values of `element`, shrinking by deletion first.
#[derive(Debug)]
pub struct Sequence<T: core::fmt::Debug> {
    element: BoxedStrategy<T>,
    len: usize,
}

impl<T: core::fmt::Debug> Sequence<T> {
    /// `len` values drawn from `element`.
    pub fn new(element: BoxedStrategy<T>, len: usize) -> Self {
        Self { element, len }
    }
}

impl<T: core::fmt::Debug + 'static> Strategy for Sequence<T> {
    type Tree = SequenceTree<T>;
    type Value = Vec<T>;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let elements = (0..self.len)
            .map(|_| self.element.new_tree(runner))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SequenceTree {
            included: vec![true; elements.len()],
            phase: Phase::Delete {
                chunk: (elements.len() / 2).max(1),
                pos: 0,
            },
            elements,
            last: None,
        })
    }
}

/// Where the shrinker is.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Deleting `chunk` elements at a time, next at `pos`.
    Delete { chunk: usize, pos: usize },
    /// Simplifying element `ix`.
    Simplify(usize),
}

/// The last simplification, for `complicate` to undo.
#[derive(Clone, Debug)]
enum Last {
    /// These elements were deleted.
    Deleted(Vec<usize>),
    /// This element was simplified.
    Simplified(usize),
}

/// The value tree of a [`Sequence`].
pub struct SequenceTree<T> {
    elements: Vec<Box<dyn ValueTree<Value = T>>>,
    included: Vec<bool>,
    phase: Phase,
    last: Option<Last>,
}

impl<T> core::fmt::Debug for SequenceTree<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SequenceTree")
            .field("len", &self.elements.len())
            .field("included", &self.included.iter().filter(|&&b| b).count())
            .field("phase", &self.phase)
            .finish()
    }
}

impl<T: core::fmt::Debug> ValueTree for SequenceTree<T> {
    type Value = Vec<T>;

    fn current(&self) -> Vec<T> {
        self.elements
            .iter()
            .zip(&self.included)
            .filter(|(_, inc)| **inc)
            .map(|(e, _)| e.current())
            .collect()
    }

    fn simplify(&mut self) -> bool {
        while let Phase::Delete { chunk, pos } = self.phase {
            let len = self.elements.len();
            if pos >= len {
                self.phase = if chunk <= 1 {
                    Phase::Simplify(0)
                } else {
                    Phase::Delete {
                        chunk: chunk / 2,
                        pos: 0,
                    }
                };
                continue;
            }
            let end = (pos + chunk).min(len);
            self.phase = Phase::Delete { chunk, pos: end };
            let gone: Vec<usize> = (pos..end).filter(|&i| self.included[i]).collect();
            if gone.is_empty() {
                continue;
            }
            for &i in &gone {
                self.included[i] = false;
            }
            self.last = Some(Last::Deleted(gone));
            return true;
        }
        while let Phase::Simplify(ix) = self.phase {
            if ix >= self.elements.len() {
                return false;
            }
            if self.included[ix] && self.elements[ix].simplify() {
                self.last = Some(Last::Simplified(ix));
                return true;
            }
            self.phase = Phase::Simplify(ix + 1);
        }
        false
    }

    fn complicate(&mut self) -> bool {
        match self.last.take() {
            None => false,
            Some(Last::Deleted(gone)) => {
                for i in gone {
                    self.included[i] = true;
                }
                true
            }
            Some(Last::Simplified(ix)) if self.elements[ix].complicate() => {
                self.last = Some(Last::Simplified(ix));
                true
            }
            Some(Last::Simplified(_)) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestError};

    #[test]
    fn shrinks_to_the_one_element_that_fails() {
        let mut runner = TestRunner::new(Config {
            failure_persistence: None,
            ..Config::default()
        });
        let seq = Sequence::new((0..100u32).boxed(), 200);
        let result = runner.run(&seq, |v| {
            prop_assert!(v.iter().all(|&x| x < 90));
            Ok(())
        });
        match result {
            Err(TestError::Fail(_, minimal)) => assert_eq!(minimal, vec![90]),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}

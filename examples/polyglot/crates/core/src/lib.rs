//! Text statistics shared by the polyglot bindings.

/// Counts of one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub lines: usize,
    pub words: usize,
    pub bytes: usize,
}

/// Computes the statistics of `text`.
pub fn stats(text: &str) -> Stats {
    Stats {
        lines: text.lines().count(),
        words: text.split_whitespace().count(),
        bytes: text.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let s = stats("one two\nthree\n");
        assert_eq!(s, Stats { lines: 2, words: 3, bytes: 14 });
    }
}

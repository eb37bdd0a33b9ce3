//! Tokens: words and punctuation with byte offsets into the book text.
//!
//! Narration is tokenised once; every later pass (tags, names, beats)
//! works on these slices, so the whole attribution stays linear in the
//! length of the book.

use std::marker::PhantomData;
use std::ptr::NonNull;

use super::lexicon;

/// A word or punctuation mark of the narration.
///
/// Its text is held as a pointer and a 16-bit length instead of a `&str`,
/// so that with the offset and flags a token takes 16 bytes, not 24: the
/// whole book's narration tokens are alive through attribution and are the
/// largest thing a long render holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tok<'a> {
    ptr: NonNull<u8>,
    /// Absolute byte offset in the book text, see [`Tok::start`].
    offset: u32,
    len: u16,
    pub word: bool,
    /// First word of a sentence (or of the segment when it starts one).
    pub sent_start: bool,
    _text: PhantomData<&'a str>,
}

impl<'a> Tok<'a> {
    /// A token for `text` at byte `offset` of the book; a "word" longer
    /// than 64 KiB (no real word is) keeps its first 64 KiB.
    fn new(text: &'a str, offset: u32, word: bool, sent_start: bool) -> Tok<'a> {
        let mut len = text.len().min(usize::from(u16::MAX));
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        Tok {
            ptr: NonNull::from(text.as_bytes()).cast(),
            offset,
            len: len as u16,
            word,
            sent_start,
            _text: PhantomData,
        }
    }

    pub fn text(&self) -> &'a str {
        // SAFETY: `ptr` and `len` come from a `&'a str` (`Tok::new`), cut at
        // a char boundary; `PhantomData` keeps that borrow alive.
        unsafe {
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                self.ptr.as_ptr(),
                usize::from(self.len),
            ))
        }
    }
}

impl std::fmt::Debug for Tok<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tok")
            .field("text", &self.text())
            .field("offset", &self.offset)
            .field("word", &self.word)
            .field("sent_start", &self.sent_start)
            .finish()
    }
}

impl Tok<'_> {
    /// Absolute byte offset in the book text.
    pub fn start(&self) -> usize {
        self.offset as usize
    }

    pub fn is_cap(&self) -> bool {
        self.word && self.text().chars().next().is_some_and(char::is_uppercase)
    }

    pub fn lower(&self) -> String {
        self.text().to_lowercase()
    }

    pub fn is_punct(&self, set: &str) -> bool {
        !self.word && self.text().chars().next().is_some_and(|c| set.contains(c))
    }

    /// Ends a clause for tag purposes.
    pub fn ends_sentence(&self) -> bool {
        self.is_punct(".!?;:")
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

/// Splits `text` (which sits at byte `base` in the book) into tokens.
/// `starts_sentence`: whether the first word opens a sentence.
pub fn tokenize(text: &str, base: usize, starts_sentence: bool) -> Vec<Tok<'_>> {
    let mut toks: Vec<Tok<'_>> = Vec::new();
    let mut sentence_next = starts_sentence;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (b, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if is_word_char(c) {
            let mut j = i + 1;
            while j < chars.len() {
                let cj = chars[j].1;
                let inner = (is_apostrophe(cj) || cj == '-')
                    && chars.get(j + 1).is_some_and(|&(_, n)| is_word_char(n));
                if is_word_char(cj) || inner {
                    j += 1;
                } else {
                    break;
                }
            }
            let end = chars.get(j).map_or(text.len(), |&(e, _)| e);
            let mut word_end = end;
            // "Mr." keeps its period, which then does not end the sentence.
            let takes_period = chars.get(j).is_some_and(|&(_, n)| n == '.')
                && lexicon::is_abbreviated_title(&text[b..end]);
            if takes_period {
                word_end = end + 1;
                j += 1;
            }
            let word = &text[b..word_end];
            // "Greta's": the name, then the possessive as punctuation.
            let possessive = ["'s", "’s"]
                .iter()
                .find(|p| word.len() > p.len() + 1 && word.ends_with(*p))
                .filter(|_| word.chars().next().is_some_and(char::is_uppercase));
            let stem = possessive.map_or(word.len(), |p| word.len() - p.len());
            toks.push(Tok::new(
                &word[..stem],
                offset(base + b),
                true,
                sentence_next,
            ));
            if stem < word.len() {
                toks.push(Tok::new(
                    &word[stem..],
                    offset(base + b + stem),
                    false,
                    false,
                ));
            }
            sentence_next = false;
            i = j;
            continue;
        }
        let end = b + c.len_utf8();
        // Dashes and quote marks are kept but do not reset the sentence flag.
        if matches!(c, '.' | '!' | '?') {
            sentence_next = true;
        }
        toks.push(Tok::new(&text[b..end], offset(base + b), false, false));
        i += 1;
    }
    // Growth by doubling leaves a quarter unused on average.
    toks.shrink_to_fit();
    toks
}

/// Offsets order mentions by position; a text past 4 GiB (hundreds of
/// millions of words) would see its tail's offsets saturate, not wrap.
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_16_bytes_and_a_monster_word_is_cut_at_a_char_boundary() {
        assert_eq!(std::mem::size_of::<Tok<'_>>(), 16);
        let monster = "é".repeat(40_000);
        let toks = tokenize(&monster, 7, true);
        assert_eq!(toks.len(), 1);
        assert_eq!(toks[0].text(), "é".repeat(32_767));
        assert_eq!(
            (toks[0].start(), toks[0].word, toks[0].sent_start),
            (7, true, true)
        );
    }

    #[test]
    fn words_offsets_and_sentences() {
        let toks = tokenize("said Mr. Fowler. He don't see Ida's", 10, false);
        let words: Vec<(&str, usize, bool)> = toks
            .iter()
            .filter(|t| t.word)
            .map(|t| (t.text(), t.start(), t.sent_start))
            .collect();
        assert_eq!(
            words,
            [
                ("said", 10, false),
                ("Mr.", 15, false),
                ("Fowler", 19, false),
                ("He", 27, true),
                ("don't", 30, false),
                ("see", 36, false),
                ("Ida", 40, false)
            ]
        );
    }
}

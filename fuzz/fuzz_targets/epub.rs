//! Any bytes given to the EPUB reader give a book or an error: never a
//! panic, a hang or runaway memory (libFuzzer's -rss_limit_mb checks that).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(book) = castbook::ingest::epub::read_epub(std::path::Path::new("fuzz.epub"), data) {
        // Chapters tile the text and matter lies inside it.
        let mut end = 0;
        for chapter in &book.chapters {
            assert_eq!(chapter.span.start, end);
            end = chapter.span.end;
            for paragraph in &chapter.paragraphs {
                assert!(book.text.get(paragraph.clone()).is_some());
            }
        }
        assert_eq!(end, book.text.len());
        for matter in &book.matter {
            assert!(book.text.get(matter.range.clone()).is_some());
        }
    }
});

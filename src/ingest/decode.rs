//! Byte decoding: UTF-8 (BOM stripped), UTF-16 with a BOM, or a legacy
//! single-byte encoding guessed by chardetng.
//!
//! UTF-8 is tried first and strictly, because chardetng is a guesser and
//! valid UTF-8 is almost never an accident.

use std::path::Path;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use super::IngestError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub encoding: &'static str,
    pub text: String,
}

/// Decoding failure before the file name is known.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    Binary { offset: usize, byte: u8 },
}

impl DecodeError {
    pub fn at(self, path: &Path) -> IngestError {
        let path = path.to_owned();
        match self {
            DecodeError::Empty => IngestError::Empty { path },
            DecodeError::Binary { offset, byte } => IngestError::Binary { path, offset, byte },
        }
    }
}

pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let body = &bytes[bom_len..];
        let (text, _) = encoding.decode_without_bom_handling(body);
        return finish(encoding, text.into_owned(), body);
    }
    if let Some(encoding) = sniff_bomless_utf16(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(bytes);
        return finish(encoding, text.into_owned(), bytes);
    }
    reject_binary(bytes)?;
    if let Ok(text) = std::str::from_utf8(bytes) {
        return finish(UTF_8, text.to_owned(), bytes);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let encoding = detector.guess(None, chardetng::Utf8Detection::Allow);
    let (text, _, _) = encoding.decode(bytes);
    finish(encoding, text.into_owned(), bytes)
}

fn finish(encoding: &'static Encoding, text: String, raw: &[u8]) -> Result<Decoded, DecodeError> {
    if text.trim().is_empty() {
        return Err(DecodeError::Empty);
    }
    if encoding != UTF_16LE && encoding != UTF_16BE {
        reject_binary(raw)?;
    }
    if let Some(offset) = text.find('\0') {
        return Err(DecodeError::Binary { offset, byte: 0 });
    }
    Ok(Decoded {
        encoding: encoding.name(),
        text,
    })
}

/// UTF-16 without a BOM shows up as every other byte being NUL; text in any
/// 8-bit encoding never contains NUL.
fn sniff_bomless_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let pairs = bytes.len() / 2;
    let even_nuls = bytes.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd_nuls = bytes.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    if odd_nuls * 10 >= pairs * 9 && even_nuls == 0 {
        Some(UTF_16LE)
    } else if even_nuls * 10 >= pairs * 9 && odd_nuls == 0 {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Control bytes other than whitespace, form feed and escape don't occur in
/// text files; NUL in particular means an image, archive or executable.
fn reject_binary(bytes: &[u8]) -> Result<(), DecodeError> {
    let suspicious = |b: u8| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x1b);
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(DecodeError::Binary { offset, byte: 0 });
    }
    let sample = &bytes[..bytes.len().min(8192)];
    let controls = sample.iter().filter(|&&b| suspicious(b)).count();
    if controls * 100 > sample.len().max(1) {
        let offset = sample.iter().position(|&b| suspicious(b)).unwrap_or(0);
        return Err(DecodeError::Binary {
            offset,
            byte: bytes[offset],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = if bom { vec![0xfeff_u16] } else { vec![] };
        for unit in units.into_iter().chain(text.encode_utf16()) {
            let bytes = if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            out.extend_from_slice(&bytes);
        }
        out
    }

    #[test]
    fn utf8_with_bom_is_stripped() {
        let decoded = decode("\u{feff}“Hi,” she said.".as_bytes()).unwrap();
        assert_eq!(decoded.encoding, "UTF-8");
        assert_eq!(decoded.text, "“Hi,” she said.");
    }

    #[test]
    fn plain_utf8() {
        let decoded = decode("Café — “naïve”".as_bytes()).unwrap();
        assert_eq!(decoded.encoding, "UTF-8");
        assert_eq!(decoded.text, "Café — “naïve”");
    }

    #[test]
    fn utf16_both_byte_orders_with_bom() {
        for big_endian in [false, true] {
            let decoded = decode(&utf16("“Run,” said Greta.", big_endian, true)).unwrap();
            assert_eq!(decoded.text, "“Run,” said Greta.");
            let expected = if big_endian { "UTF-16BE" } else { "UTF-16LE" };
            assert_eq!(decoded.encoding, expected);
        }
    }

    #[test]
    fn utf16_without_bom_is_sniffed() {
        let decoded = decode(&utf16("Plain words, said Ivo.", false, false)).unwrap();
        assert_eq!(decoded.encoding, "UTF-16LE");
        assert_eq!(decoded.text, "Plain words, said Ivo.");
    }

    #[test]
    fn windows_1252_fan_fiction_export() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252
            .encode("\u{201c}I don\u{2019}t know,\u{201d} Ines said. \u{201c}It\u{2019}s a caf\u{e9} thing.\u{201d}");
        assert!(std::str::from_utf8(&bytes).is_err());
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded.encoding, "windows-1252");
        assert!(decoded.text.contains("“I don’t know,” Ines said."));
        assert!(decoded.text.contains("café"));
    }

    #[test]
    fn empty_and_whitespace_are_rejected() {
        assert_eq!(decode(b""), Err(DecodeError::Empty));
        assert_eq!(decode(b" \n\n\t "), Err(DecodeError::Empty));
        assert_eq!(decode(b"\xef\xbb\xbf\n"), Err(DecodeError::Empty));
    }

    #[test]
    fn binary_is_rejected() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert!(matches!(decode(png), Err(DecodeError::Binary { .. })));
    }
}

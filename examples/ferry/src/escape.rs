//! Text from the file system made safe to print: a name may hold a newline, an escape
//! sequence or a bidirectional override, and a terminal would act on it.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (newline, tab, escape, bell, C1 controls) and every
/// Unicode bidirectional control shown as an escape: `\n`, `\r`, `\t`, `\x1b`, `\u{202e}`.
/// Everything else is unchanged (text without such characters is not copied).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! escapes {
        ($($name:ident: $text:expr => $shown:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(escape($text), $shown);
            }
        )*};
    }

    escapes! {
        plain_text_is_unchanged: "docs/report (1).txt" => "docs/report (1).txt";
        unicode_is_unchanged: "photos/été/日本.jpg" => "photos/été/日本.jpg";
        newline: "a\nb" => "a\\nb";
        carriage_return_and_tab: "a\r\tb" => "a\\r\\tb";
        escape_sequence: "x\x1b[31mred" => "x\\x1b[31mred";
        bell_and_delete: "\x07\x7f" => "\\x07\\x7f";
        c1_control: "a\u{9b}b" => "a\\u{009b}b";
        bidi_override: "txt.\u{202e}exe" => "txt.\\u{202e}exe";
        backslash_is_unchanged: "Doc\\" => "Doc\\";
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
    }
}

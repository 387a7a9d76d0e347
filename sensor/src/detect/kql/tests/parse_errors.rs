//! Malformed queries: one or more tests for every error path of the lexer and the parser,
//! each checking the column and the whole message.

use super::super::{MAX_DEPTH, ParseError, ParseErrorKind, parse};

fn err(query: &str) -> ParseError {
    match parse(query) {
        Ok(ast) => panic!("{query:?} parsed as {ast:?}"),
        Err(e) => e,
    }
}

/// Asserts the error of `query` is at `column` with `message`.
#[track_caller]
fn fails(query: &str, column: usize, message: &str) {
    let e = err(query);
    assert_eq!(
        e.to_string(),
        format!("column {column}: {message}"),
        "query {query:?}"
    );
    assert_eq!(e.column, column);
}

const WORD_HINT: &str = " (quote a value that contains spaces, or join terms with `and` / `or`)";

#[test]
fn empty_query() {
    let msg = "empty query: expected a `field:value` expression";
    fails("", 1, msg);
    fails("   ", 4, msg);
    assert_eq!(err("\n").kind, ParseErrorKind::Empty);
}

#[test]
fn unterminated_quoted_string() {
    let msg = |start| {
        format!("unterminated quoted string starting at column {start}: expected a closing `\"`")
    };
    fails(r#"process.name:"abc"#, 18, &msg(14));
    fails(r#"f:"abc\"#, 8, &msg(3));
    fails(r#"f:"a\""#, 7, &msg(3));
    fails(r#"a:"x" and b:"y"#, 15, &msg(13));
}

#[test]
fn invalid_escape_in_unquoted_value() {
    let msg = |c| {
        format!(
            "invalid escape `\\{c}`: only whitespace and `\\():<>\"*{{}}` can be escaped in an unquoted value"
        )
    };
    fails(r"f:C:\Windows", 5, &msg('W'));
    fails(r"f:a\nb", 4, &msg('n'));
    fails(r"f:\and", 3, &msg('a'));
    assert_eq!(
        err(r"f\.x:1").kind,
        ParseErrorKind::InvalidEscape { ch: '.' }
    );
}

#[test]
fn invalid_escape_in_quoted_string() {
    let msg = "invalid escape `\\W` in a quoted string: only `\\\"` and `\\\\` are escapes (write `\\\\` for a backslash)";
    fails(r#"f:"C:\Windows""#, 6, msg);
    assert_eq!(
        err(r#"f:"\*""#).kind,
        ParseErrorKind::InvalidQuotedEscape { ch: '*' }
    );
}

#[test]
fn dangling_escape() {
    fails(
        r"f:abc\",
        6,
        "`\\` at the end of the query has nothing to escape",
    );
    fails(
        r"f\",
        2,
        "`\\` at the end of the query has nothing to escape",
    );
}

#[test]
fn reserved_braces() {
    fails(
        "user:{ name:x }",
        6,
        "`{` is not supported (nested field queries); escape it as `\\{` in a value",
    );
    fails(
        "f:a}",
        4,
        "`}` is not supported (nested field queries); escape it as `\\}` in a value",
    );
}

#[test]
fn expected_expression() {
    let msg = |after: &str, found: &str| {
        format!("expected a `field:value` expression after {after}, found {found}")
    };
    fails("a:1 and", 8, &msg("`and`", "the end of the query"));
    fails("a:1 or", 7, &msg("`or`", "the end of the query"));
    fails("()", 2, &msg("`(`", "`)`"));
    fails("not", 4, &msg("`not`", "the end of the query"));
    fails(")", 1, &msg("the start of the query", "`)`"));
    fails(":x", 1, &msg("the start of the query", "`:`"));
    fails("a:1 and >= 5", 9, &msg("`and`", "`>=`"));
    fails(
        "and a:1",
        1,
        &msg(
            "the start of the query",
            "keyword `and` (quote it to match the word: \"and\")",
        ),
    );
    fails(
        "a:1 or or b:2",
        8,
        &msg("`or`", "keyword `or` (quote it to match the word: \"or\")"),
    );
    fails("not not", 8, &msg("`not`", "the end of the query"));
}

#[test]
fn expected_value() {
    let msg = |after: &str, found: &str| format!("expected a value after {after}, found {found}");
    fails("process.name:", 14, &msg("`:`", "the end of the query"));
    fails(
        "process.name: and x:1",
        15,
        &msg("`:`", "keyword `and` (quote it to match the word: \"and\")"),
    );
    fails("f:)", 3, &msg("`:`", "`)`"));
    fails("f:()", 4, &msg("`(`", "`)`"));
    fails("f:(a or)", 8, &msg("`or`", "`)`"));
    fails("f:(a and)", 9, &msg("`and`", "`)`"));
    fails("f:(not)", 7, &msg("`not`", "`)`"));
    fails("f >", 4, &msg("`>`", "the end of the query"));
    fails("f <= (a)", 6, &msg("`<=`", "`(`"));
    fails("f < :", 5, &msg("`<`", "`:`"));
    fails("f>=>", 4, &msg("`>=`", "`>`"));
}

#[test]
fn free_text_is_rejected() {
    let msg = |v: &str| {
        format!(
            "`{v}` has no field: free-text search is not supported, write `field:value` or `field >= value`"
        )
    };
    fails("PSEXESVC.exe", 1, &msg("PSEXESVC.exe"));
    fails("a:1 and foo", 9, &msg("foo"));
    fails(r#""quoted phrase""#, 1, &msg(r#""quoted phrase""#));
    fails("a=1", 1, &msg("a=1"));
    fails("psexe*", 1, &msg("psexe*"));
}

#[test]
fn quoted_field_name() {
    fails(
        r#""source.ip":x"#,
        1,
        "field name \"source.ip\" must not be quoted; escape special characters with `\\` instead",
    );
}

#[test]
fn wildcard_in_field_name() {
    fails(
        "process.*:x",
        1,
        "wildcards in field names are not supported (`process.*`)",
    );
    fails(
        "a:1 or p* > 5",
        8,
        "wildcards in field names are not supported (`p*`)",
    );
}

#[test]
fn wildcard_in_range_bound() {
    fails(
        "f > 5*",
        5,
        "a range bound cannot contain a wildcard (`5*`)",
    );
    fails("f<=*", 4, "a range bound cannot contain a wildcard (`*`)");
}

#[test]
fn expected_operator() {
    let top = |found: &str, hint: &str| {
        format!("expected `and`, `or` or the end of the query, found {found}{hint}")
    };
    fails("a:1 b:2", 5, &top("value `b`", WORD_HINT));
    fails("process.name:foo bar", 18, &top("value `bar`", WORD_HINT));
    fails(r#"a:1 "x""#, 5, &top(r#"value `"x"`"#, WORD_HINT));
    fails(
        "a:b:c",
        4,
        &top(
            "`:`",
            " (escape a `:` inside a value as `\\:`, or quote the value)",
        ),
    );
    fails(
        "a:1 > 5",
        5,
        &top(
            "`>`",
            " (escape `<` and `>` inside a value, or quote the value)",
        ),
    );
    fails("a:1 (b:2)", 5, &top("`(`", ""));
    fails("f > 1 2", 7, &top("value `2`", WORD_HINT));
    let inner = |col: usize, found: &str, hint: &str| {
        format!(
            "expected `and`, `or` or `)` closing the parenthesis opened at column {col}, found {found}{hint}"
        )
    };
    fails("(a:1 b:2)", 6, &inner(1, "value `b`", WORD_HINT));
    fails("f:(a b)", 6, &inner(3, "value `b`", WORD_HINT));
    fails("x:1 and (f:(a) (", 16, &inner(9, "`(`", ""));
}

#[test]
fn unbalanced_close_paren() {
    let msg = "unbalanced `)`: no parenthesis is open";
    fails("a:1)", 4, msg);
    fails("(a:1))", 6, msg);
    fails("f:(a))", 6, msg);
}

#[test]
fn unbalanced_open_paren() {
    let msg = |opened| format!("unbalanced parenthesis opened at column {opened}: expected `)`");
    fails("(a:1 or b:2", 12, &msg(1));
    fails("f:(a or b", 10, &msg(3));
    fails("a:1 and (b:2 and (c:3)", 23, &msg(9));
    fails("f:(a or (b", 11, &msg(9));
}

#[test]
fn nesting_limit() {
    let nested = |n: usize| format!("{}a:1{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(MAX_DEPTH)).is_ok());
    let msg = format!("query nested deeper than {MAX_DEPTH} levels of parentheses and `not`");
    fails(&nested(MAX_DEPTH + 1), MAX_DEPTH + 1, &msg);
    fails(&nested(100_000), MAX_DEPTH + 1, &msg);
    let nots = |n: usize| format!("{}a:1", "not ".repeat(n));
    assert!(parse(&nots(MAX_DEPTH)).is_ok());
    fails(&nots(MAX_DEPTH + 1), 4 * MAX_DEPTH + 1, &msg);
    let list = |n: usize| format!("f:{}a{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&list(MAX_DEPTH)).is_ok());
    fails(&list(MAX_DEPTH + 1), MAX_DEPTH + 3, &msg);
    let list_nots = format!("f:({}a)", "not ".repeat(MAX_DEPTH));
    fails(&list_nots, 4 * (MAX_DEPTH - 1) + 4, &msg);
}

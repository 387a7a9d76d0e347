//! Well-formed queries: the tree they parse to, the text they print as, and round trips.

use super::super::lexer::{TokenKind, tokenize};
use super::super::{Ast, Literal, Part, RangeOp, ValueExpr, parse};
use super::{PSEXEC_QUERY, SSH_PASSWORD_QUERY};

fn ok(query: &str) -> Ast {
    parse(query).unwrap_or_else(|e| panic!("{query:?}: {e}"))
}

fn text(s: &str) -> Literal {
    Literal::Unquoted(vec![Part::Text(s.into())])
}

fn quoted(s: &str) -> Literal {
    Literal::Quoted(s.into())
}

fn m(field: &str, value: Literal) -> Ast {
    Ast::Match {
        field: field.into(),
        value: ValueExpr::Literal(value),
    }
}

fn lit(value: Literal) -> ValueExpr {
    ValueExpr::Literal(value)
}

/// Asserts `query` prints as `normal`, and that `normal` parses to the same tree and prints
/// unchanged.
fn normalises(query: &str, normal: &str) {
    let ast = ok(query);
    assert_eq!(ast.to_string(), normal, "display of {query:?}");
    assert_eq!(ok(normal), ast, "re-parse of {normal:?}");
    assert_eq!(ok(normal).to_string(), normal);
}

#[test]
fn document_queries_parse_and_print_verbatim() {
    let ast = ok(SSH_PASSWORD_QUERY);
    assert_eq!(
        ast,
        Ast::And(vec![
            m("event.category", quoted("authentication")),
            m("event.action", quoted("ssh_login")),
            m("ssh.method", quoted("password")),
            m("source.ip", quoted("10.0.0.0/8")),
        ])
    );
    assert_eq!(ast.to_string(), SSH_PASSWORD_QUERY);
    let ast = ok(PSEXEC_QUERY);
    assert_eq!(
        ast,
        Ast::And(vec![
            m("event.category", text("process")),
            m("process.name", text("PSEXESVC.exe")),
        ])
    );
    assert_eq!(ast.to_string(), PSEXEC_QUERY);
}

#[test]
fn keywords_are_case_insensitive_and_print_lower_case() {
    let ast = ok("a:1 AND b:2 Or NOT c:3");
    assert_eq!(
        ast,
        Ast::Or(vec![
            Ast::And(vec![m("a", text("1")), m("b", text("2"))]),
            Ast::Not(Box::new(m("c", text("3")))),
        ])
    );
    assert_eq!(ast.to_string(), "a:1 and b:2 or not c:3");
}

#[test]
fn words_containing_keywords_are_values() {
    assert_eq!(ok("f:android"), m("f", text("android")));
    assert_eq!(ok("f:ORder"), m("f", text("ORder")));
    assert_eq!(ok("f:nothing"), m("f", text("nothing")));
    assert_eq!(
        ok("f:not*"),
        m(
            "f",
            Literal::Unquoted(vec![Part::Text("not".into()), Part::Wildcard])
        )
    );
    assert_eq!(ok(r#"f:"and""#), m("f", quoted("and")));
    assert_eq!(ok(r"f:and\ more"), m("f", text("and more")));
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let (a, b, c) = (m("a", text("1")), m("b", text("2")), m("c", text("3")));
    let or_and = Ast::Or(vec![a.clone(), Ast::And(vec![b.clone(), c.clone()])]);
    assert_eq!(ok("a:1 or b:2 and c:3"), or_and);
    let and_or = Ast::Or(vec![Ast::And(vec![a.clone(), b.clone()]), c.clone()]);
    assert_eq!(ok("a:1 and b:2 or c:3"), and_or);
    let not_and = Ast::And(vec![Ast::Not(Box::new(a.clone())), b.clone()]);
    assert_eq!(ok("not a:1 and b:2"), not_and);
    let not_group = Ast::Not(Box::new(Ast::Or(vec![a.clone(), b.clone()])));
    assert_eq!(ok("not (a:1 or b:2)"), not_group);
    assert_eq!(ok("not not a:1"), Ast::Not(Box::new(Ast::Not(Box::new(a)))));
}

#[test]
fn parentheses_group_and_print_only_where_needed() {
    normalises("(a:1 or b:2) and c:3", "(a:1 or b:2) and c:3");
    normalises("((a:1))", "a:1");
    normalises("(a:1 and b:2) or c:3", "a:1 and b:2 or c:3");
    normalises("(a:1 or b:2) or c:3", "(a:1 or b:2) or c:3");
    normalises("a:1 and (b:2 and c:3)", "a:1 and (b:2 and c:3)");
    normalises("not (a:1 and b:2)", "not (a:1 and b:2)");
    normalises("not (not a:1)", "not not a:1");
    normalises("  a : 1\n\tand\r\nb:2  ", "a:1 and b:2");
}

#[test]
fn value_lists() {
    let ast = ok(r#"f:(a or b or "c d")"#);
    let list = ValueExpr::Or(vec![lit(text("a")), lit(text("b")), lit(quoted("c d"))]);
    assert_eq!(
        ast,
        Ast::Match {
            field: "f".into(),
            value: list
        }
    );
    let ast = ok("event.category:(authentication and process)");
    let list = ValueExpr::And(vec![lit(text("authentication")), lit(text("process"))]);
    assert_eq!(
        ast,
        Ast::Match {
            field: "event.category".into(),
            value: list
        }
    );
    let ast = ok("f:(a and not b)");
    let not_b = ValueExpr::Not(Box::new(lit(text("b"))));
    let list = ValueExpr::And(vec![lit(text("a")), not_b]);
    assert_eq!(
        ast,
        Ast::Match {
            field: "f".into(),
            value: list
        }
    );
    normalises("f : ( a OR b )", "f:(a or b)");
    normalises("f:(a)", "f:a");
    normalises("f:((a or b) and c)", "f:((a or b) and c)");
    normalises("f:(a or (b or c))", "f:(a or (b or c))");
    normalises("f:(not (a or b))", "f:(not (a or b))");
    normalises("f:(not not a)", "f:(not not a)");
}

#[test]
fn ranges() {
    let range = |op, value| Ast::Range {
        field: "f".into(),
        op,
        value,
    };
    assert_eq!(ok("f > 5"), range(RangeOp::Gt, text("5")));
    assert_eq!(ok("f>=5"), range(RangeOp::Ge, text("5")));
    assert_eq!(ok("f<5"), range(RangeOp::Lt, text("5")));
    assert_eq!(ok(r#"f <= "x y""#), range(RangeOp::Le, quoted("x y")));
    assert_eq!(ok("f >= -5"), range(RangeOp::Ge, text("-5")));
    normalises("f>=5 and f<10", "f >= 5 and f < 10");
    normalises(
        r#"@timestamp >= "2024-01-01T00:00:00Z""#,
        r#"@timestamp >= "2024-01-01T00:00:00Z""#,
    );
}

#[test]
fn wildcards_and_existence() {
    let w = Part::Wildcard;
    let t = |s: &str| Part::Text(s.into());
    assert_eq!(ok("f:*"), m("f", Literal::Unquoted(vec![w.clone()])));
    assert_eq!(ok("f:***"), m("f", Literal::Unquoted(vec![w.clone()])));
    assert_eq!(
        ok("f:psexe*"),
        m("f", Literal::Unquoted(vec![t("psexe"), w.clone()]))
    );
    assert_eq!(
        ok("f:*exe"),
        m("f", Literal::Unquoted(vec![w.clone(), t("exe")]))
    );
    let middle = vec![t("a"), w.clone(), t("b"), w.clone(), t("c")];
    assert_eq!(ok("f:a**b*c"), m("f", Literal::Unquoted(middle)));
    assert_eq!(ok(r#"f:"a*""#), m("f", quoted("a*")));
    assert_eq!(ok(r"f:a\*"), m("f", text("a*")));
    assert!(ok("f:*").to_string() == "f:*");
    normalises(r"f:a\**", r"f:a\**");
}

#[test]
fn escapes_in_unquoted_values_and_field_names() {
    let ast = ok(r#"f:a\ b\(c\)\:d\<\>\"\\\{\}\*"#);
    assert_eq!(ast, m("f", text(r#"a b(c):d<>"\{}*"#)));
    assert_eq!(ast.to_string(), r#"f:a\ b\(c\)\:d\<\>\"\\\{\}\*"#);
    assert_eq!(ok("f:a\\\tb"), m("f", text("a\tb")));
    assert_eq!(ok(r"my\ field:x"), m("my field", text("x")));
    normalises(r"my\:field:x\:y", r"my\:field:x\:y");
    assert_eq!(
        ok(r"source.ip:fc00\:\:/7"),
        m("source.ip", text("fc00::/7"))
    );
    assert_eq!(ok("p:/usr/bin/x-y_z.sh"), m("p", text("/usr/bin/x-y_z.sh")));
    assert_eq!(ok("f:été"), m("f", text("été")));
}

#[test]
fn escapes_in_quoted_values() {
    assert_eq!(
        ok(r#"f:"say \"hi\" \\ ok""#),
        m("f", quoted(r#"say "hi" \ ok"#))
    );
    assert_eq!(
        ok(r#"f:"C:\\Windows\\x.exe""#),
        m("f", quoted(r"C:\Windows\x.exe"))
    );
    assert_eq!(ok(r#"f:"""#), m("f", quoted("")));
    assert_eq!(ok("f:\"a\nb\""), m("f", quoted("a\nb")));
    normalises(r#"f:"(a:b) <c> * { }""#, r#"f:"(a:b) <c> * { }""#);
    normalises(r#"f:"\"\\""#, r#"f:"\"\\""#);
}

#[test]
fn fields_lists_distinct_sorted_paths() {
    let ast = ok("b.x:1 and (a:2 or not b.x:3) and c < 5 and a:(x or y)");
    assert_eq!(ast.fields(), ["a", "b.x", "c"]);
}

#[test]
fn lexer_reports_character_columns() {
    let tokens = tokenize("é:(\"x\" or y) >= ").unwrap_or_else(|e| panic!("{e}"));
    let columns: Vec<_> = tokens.iter().map(|t| t.column).collect();
    assert_eq!(columns, [1, 2, 3, 4, 8, 11, 12, 14, 17]);
    assert_eq!(tokens[2].kind, TokenKind::LParen);
    assert_eq!(tokens[4].kind, TokenKind::Or);
    assert_eq!(tokens[7].kind, TokenKind::Range(RangeOp::Ge));
    assert_eq!(tokens[8].kind, TokenKind::End);
}

#[test]
fn round_trips() {
    for query in [
        SSH_PASSWORD_QUERY,
        PSEXEC_QUERY,
        r#"user.name:ansible and source.ip:"10.1.2.0/24""#,
        "not (a:1 or b:(x and not y)) and c >= 3 or d:*",
        r#"a\ b:c\ d and e:"and""#,
        r#"f:("a" or b* or *c or d\*)"#,
        "a:1 or (b:2 or (c:3 or (d:4 and e:5)))",
    ] {
        let ast = ok(query);
        let printed = ast.to_string();
        assert_eq!(ok(&printed), ast, "{query:?} printed as {printed:?}");
    }
}

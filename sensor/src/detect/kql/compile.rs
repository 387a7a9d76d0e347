//! Compiling a syntax tree against a schema into an evaluable [`Query`].

use std::fmt::{self, Display, Formatter};
use std::net::IpAddr;

use ipnet::IpNet;

use super::ast::{Ast, Literal, Part, RangeOp, ValueExpr};
use super::error::KqlError;
use super::eval::{Net, Node, Pred, Scalar, Wildcard, ip_number};
use super::parser::parse;
use super::schema::{FieldId, FieldType, Schema};
use super::value::Document;

/// A query compiled against a schema: field names resolved to ids, values parsed to their
/// field's type. Immutable and cheap to evaluate; share it freely (it is `Send + Sync`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    ast: Ast,
    root: Node,
    fields: Box<[FieldId]>,
}

impl Query {
    /// Parses and compiles `query`.
    pub fn compile(query: &str, schema: &Schema) -> Result<Self, KqlError> {
        Self::from_ast(parse(query)?, schema)
    }

    /// Compiles an already parsed query.
    pub fn from_ast(ast: Ast, schema: &Schema) -> Result<Self, KqlError> {
        let mut fields = Vec::new();
        let root = Compiler {
            schema,
            fields: &mut fields,
        }
        .node(&ast)?;
        fields.sort_unstable();
        fields.dedup();
        Ok(Self {
            ast,
            root,
            fields: fields.into(),
        })
    }

    /// True if `doc` matches. Allocates nothing.
    pub fn matches<D: Document + ?Sized>(&self, doc: &D) -> bool {
        self.root.eval(doc)
    }

    /// The parsed query.
    pub fn ast(&self) -> &Ast {
        &self.ast
    }

    /// The distinct fields the query references, sorted by id.
    pub fn fields(&self) -> &[FieldId] {
        &self.fields
    }
}

/// The normalised query text (see [`Ast`]'s `Display`).
impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.ast.fmt(f)
    }
}

struct Compiler<'a> {
    schema: &'a Schema,
    fields: &'a mut Vec<FieldId>,
}

/// A field resolved in the schema.
#[derive(Clone, Copy)]
struct Field<'a> {
    name: &'a str,
    id: FieldId,
    ty: FieldType,
}

impl Compiler<'_> {
    fn node(&mut self, ast: &Ast) -> Result<Node, KqlError> {
        Ok(match ast {
            Ast::Or(nodes) => Node::Or(self.nodes(nodes)?),
            Ast::And(nodes) => Node::And(self.nodes(nodes)?),
            Ast::Not(inner) => Node::Not(Box::new(self.node(inner)?)),
            Ast::Match { field, value } => {
                let field = self.resolve(field)?;
                values(field, value)?
            }
            Ast::Range { field, op, value } => {
                let field = self.resolve(field)?;
                Node::Test(field.id, range(field, *op, value)?)
            }
        })
    }

    fn nodes(&mut self, nodes: &[Ast]) -> Result<Box<[Node]>, KqlError> {
        nodes.iter().map(|n| self.node(n)).collect()
    }

    fn resolve<'n>(&mut self, name: &'n str) -> Result<Field<'n>, KqlError> {
        let Some((id, def)) = self
            .schema
            .id(name)
            .and_then(|id| Some((id, self.schema.get(id)?)))
        else {
            return Err(KqlError::UnknownField { field: name.into() });
        };
        self.fields.push(id);
        Ok(Field {
            name,
            id,
            ty: def.ty,
        })
    }
}

/// Compiles `field:(value expression)` into tests on that one field.
fn values(field: Field<'_>, expr: &ValueExpr) -> Result<Node, KqlError> {
    let many = |items: &[ValueExpr]| -> Result<Box<[Node]>, KqlError> {
        items.iter().map(|item| values(field, item)).collect()
    };
    Ok(match expr {
        ValueExpr::Or(items) => Node::Or(many(items)?),
        ValueExpr::And(items) => Node::And(many(items)?),
        ValueExpr::Not(inner) => Node::Not(Box::new(values(field, inner)?)),
        ValueExpr::Literal(lit) => Node::Test(field.id, term(field, lit)?),
    })
}

/// The predicate of `field:value`.
fn term(field: Field<'_>, lit: &Literal) -> Result<Pred, KqlError> {
    if lit.is_exists() {
        return Ok(Pred::Exists);
    }
    let text = match lit {
        Literal::Unquoted(parts) if lit.has_wildcard() => {
            return match field.ty {
                FieldType::Keyword => Ok(Pred::Wildcard(Wildcard::new(parts))),
                ty => Err(KqlError::WildcardNotSupported {
                    field: field.name.into(),
                    ty,
                    value: lit.to_string(),
                }),
            };
        }
        lit => plain_text(lit),
    };
    Ok(match field.ty {
        FieldType::Keyword => Pred::Eq(Scalar::Str(text.into())),
        FieldType::Ip => Pred::Net(net(&text).ok_or_else(|| {
            invalid(
                field,
                lit,
                "an IP address or CIDR network (quote IPv6 or escape its `:`)",
            )
        })?),
        FieldType::Long => Pred::Eq(Scalar::Int(
            text.parse()
                .map_err(|_| invalid(field, lit, "a 64-bit integer"))?,
        )),
        FieldType::Boolean => Pred::Bool(match &*text {
            "true" => true,
            "false" => false,
            _ => return Err(invalid(field, lit, "`true` or `false`")),
        }),
        FieldType::Date => Pred::Eq(date(&text)),
    })
}

/// The predicate of `field OP value`.
fn range(field: Field<'_>, op: RangeOp, lit: &Literal) -> Result<Pred, KqlError> {
    let text = plain_text(lit);
    let operand = match field.ty {
        FieldType::Keyword => Scalar::Str(text.into()),
        FieldType::Ip => Scalar::Ip(ip_number(
            text.parse::<IpAddr>()
                .map_err(|_| invalid(field, lit, "an IP address"))?,
        )),
        FieldType::Long => Scalar::Int(
            text.parse()
                .map_err(|_| invalid(field, lit, "a 64-bit integer"))?,
        ),
        FieldType::Date => date(&text),
        FieldType::Boolean => {
            return Err(KqlError::RangeNotSupported {
                field: field.name.into(),
                ty: field.ty,
            });
        }
    };
    Ok(Pred::Range(op, operand))
}

/// The text of a literal without wildcards (a wildcard, if any, is kept as `*`).
fn plain_text(lit: &Literal) -> String {
    match lit {
        Literal::Quoted(text) => text.clone(),
        Literal::Unquoted(parts) => parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.as_str(),
                Part::Wildcard => "*",
            })
            .collect(),
    }
}

fn date(text: &str) -> Scalar {
    Scalar::Date {
        text: text.into(),
        int: text.parse().ok(),
    }
}

/// An address (a one-address network) or a CIDR network.
fn net(text: &str) -> Option<Net> {
    if text.contains('/') {
        let net: IpNet = text.parse().ok()?;
        Some(Net::new(net.addr(), net.prefix_len()))
    } else {
        let ip: IpAddr = text.parse().ok()?;
        Some(Net::new(ip, if ip.is_ipv4() { 32 } else { 128 }))
    }
}

fn invalid(field: Field<'_>, lit: &Literal, expected: &'static str) -> KqlError {
    KqlError::InvalidValue {
        field: field.name.into(),
        ty: field.ty,
        value: lit.to_string(),
        expected,
    }
}

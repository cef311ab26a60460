//! Expression language selection and compilation, and name templates.
//!
//! The language comes from the element's `language` attribute, else from
//! `expressionLanguage` on `<definitions>`. An expression starting with `=`
//! is Zeebe FEEL: Windlass reads the text after `=` as CEL and warns. One
//! that is wholly `${...}` or `#{...}` in the default language is JUEL, as
//! Camunda 7, Flowable and Activiti write it: its inside is read as a JUEL
//! subset ([`windlass_expr::juel`]), and what is outside the subset is
//! refused by name.

use super::Ctx;
use crate::codes;
use crate::graph::ExprSpec;
use windlass_expr::{Expression, Language, Template};

/// Where an expression or template sits, for diagnostics.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// Element id.
    pub id: Option<&'a str>,
    /// Byte offset of the element.
    pub offset: usize,
    /// What the text is, e.g. "condition of sequence flow".
    pub what: &'a str,
}

/// Compiles `text` (trimmed); `language` is an explicit language URI.
/// Returns `None` (after reporting) when it cannot be compiled, and for
/// empty text.
pub fn compile(
    ctx: &mut Ctx<'_, '_, '_>,
    text: &str,
    language: Option<&str>,
    at: At<'_>,
) -> Option<ExprSpec> {
    let source = text.trim();
    if source.is_empty() {
        return None;
    }
    if let Some(feel) = source.strip_prefix('=') {
        ctx.report.warning(
            codes::FEEL_AS_CEL,
            format!(
                "{} `{source}` is FEEL; Windlass reads FEEL expressions as CEL",
                at.what
            ),
            at.id,
            Some(at.offset),
        );
        return match Expression::compile(Language::Cel, feel) {
            Ok(compiled) => Some(ExprSpec::written_as(source, compiled)),
            Err(e) => {
                ctx.report.error(
                    codes::INVALID_EXPRESSION,
                    format!(
                        "{} `{source}`: FEEL expression could not be read as CEL: {}",
                        at.what, e.message
                    ),
                    at.id,
                    Some(at.offset),
                );
                None
            }
        };
    }
    let uri = language.or(ctx.expression_language);
    let juel = juel_inside(source);
    if let (Some(inner), Some(Language::Compat)) = (juel, Language::from_uri(uri)) {
        let read = windlass_expr::juel::to_compat(inner)
            .map_err(|why| format!("{why} is outside the JUEL subset Windlass reads"))
            .and_then(|text| {
                Expression::compile(Language::Compat, &text).map_err(|e| e.message.to_string())
            });
        return match read {
            Ok(compiled) => Some(ExprSpec::written_as(source, compiled)),
            Err(why) => {
                ctx.report.error(
                    codes::INVALID_EXPRESSION,
                    format!("{} `{source}` (JUEL): {why}", at.what),
                    at.id,
                    Some(at.offset),
                );
                None
            }
        };
    }
    let Some(lang) = Language::from_uri(uri) else {
        ctx.report.error(
            codes::UNSUPPORTED_LANGUAGE,
            format!(
                "{} `{source}` is in expression language '{}', which Windlass does not support",
                at.what,
                uri.unwrap_or_default()
            ),
            at.id,
            Some(at.offset),
        );
        return None;
    };
    match Expression::compile(lang, source) {
        Ok(compiled) => Some(ExprSpec::new(compiled)),
        Err(e) => {
            ctx.report.error(
                codes::INVALID_EXPRESSION,
                format!("{} `{source}` does not compile: {}", at.what, e.message),
                at.id,
                Some(at.offset),
            );
            None
        }
    }
}

/// The inside of `source` when it is wholly one `${...}` or `#{...}`.
fn juel_inside(source: &str) -> Option<&str> {
    let inner = source
        .strip_prefix("${")
        .or_else(|| source.strip_prefix("#{"))?
        .strip_suffix('}')?;
    // `${a} and ${b}`: two expressions in text, not one.
    (!inner.contains("${") && !inner.contains("#{")).then_some(inner)
}

/// Parses `text` as a template when it holds a placeholder (`{`).
pub fn template(ctx: &mut Ctx<'_, '_, '_>, text: &str, at: At<'_>) -> Option<Template> {
    if !text.contains('{') && !text.contains('}') {
        return None;
    }
    parse_template(ctx, text, at)
}

/// Parses `text` as a template (literal text is a valid template).
pub fn parse_template(ctx: &mut Ctx<'_, '_, '_>, text: &str, at: At<'_>) -> Option<Template> {
    match Template::parse(text) {
        Ok(t) => Some(t),
        Err(e) => {
            ctx.report.error(
                codes::INVALID_TEMPLATE,
                format!(
                    "{} `{text}` is not a valid template: {}",
                    at.what, e.message
                ),
                at.id,
                Some(at.offset),
            );
            None
        }
    }
}

//! The text form of `windlass instances history`: a
//! [`HistoryView`] from the views crate as a
//! table, one row per event (time, seq, token, node, what happened).

use crate::output::{Format, fit, outln, print_json};
use windlass_views::{HistoryLine, HistoryView};

/// The text table: a header and one row per line.
pub fn render_text(lines: &[HistoryLine]) -> String {
    let node_width = lines
        .iter()
        .filter_map(|l| l.node.as_ref().map(|n| n.chars().count()))
        .max()
        .unwrap_or(0)
        .clamp(4, 32);
    let mut out = format!(
        "{:<24}  {:>5}  {:>5}  {:<node_width$}  WHAT HAPPENED\n",
        "TIME", "SEQ", "TOKEN", "NODE"
    );
    for l in lines {
        let time = l.recorded_at.as_deref().unwrap_or("-");
        let token = l.token.map_or_else(|| "-".to_string(), |t| t.to_string());
        let node = fit(l.node.as_deref().unwrap_or("-"), node_width);
        out.push_str(&format!(
            "{time:<24}  {:>5}  {token:>5}  {node:<node_width$}  {}\n",
            l.seq, l.text
        ));
    }
    out
}

/// Prints a history.
pub fn print(h: &HistoryView, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        return print_json(h);
    }
    outln!(
        "instance {} (run {}), {}: created {}, last change {}",
        h.id,
        h.run,
        h.status,
        h.created_at,
        h.updated_at
    )?;
    crate::output::write_text(&render_text(&h.events))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(at: Option<&str>, seq: u64, token: Option<u32>, node: Option<&str>) -> HistoryLine {
        HistoryLine {
            recorded_at: at.map(str::to_string),
            seq,
            token,
            node: node.map(str::to_string),
            node_name: None,
            event_type: "TokenCreated".into(),
            text: "something happened".into(),
        }
    }

    #[test]
    fn rows_align_time_seq_token_and_node() {
        let ls = [
            line(Some("2023-11-14T22:13:20.123Z"), 7, Some(3), Some("begin")),
            line(None, 8, None, None),
        ];
        let text = render_text(&ls);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 3);
        assert!(
            rows[0].starts_with("TIME") && rows[0].contains("NODE"),
            "{text}"
        );
        assert!(
            rows[1].starts_with("2023-11-14T22:13:20.123Z      7      3  begin  "),
            "{text}"
        );
        assert!(
            rows[2].starts_with("-                             8      -  -    "),
            "{text}"
        );
        // A node id longer than the column is cut, so rows stay aligned.
        let long = "n".repeat(70_000);
        let text = render_text(&[line(None, 1, Some(1), Some(&long))]);
        let row = text.lines().nth(1).unwrap_or("");
        assert!(
            row.contains(&format!("{}…  something", "n".repeat(31))),
            "{row}"
        );
    }
}

//! Large documents (issue 16, defect 7a): every position reported on one
//! long line is right. (That a lookup costs no more on a long line than on
//! a short one is tested beside the line index, `xml/position.rs`; the
//! timings are in the `load` bench.)

#[path = "../benches/support/chain.rs"]
mod chain;

use windlass_model::{Position, load};

#[test]
fn positions_on_one_long_line_are_right() {
    let xml = chain::chain(2_000, true);
    let out = load(&xml);
    let defs = out.definitions.expect("loads");
    let graph = defs.first_executable().expect("executable");
    for node in &graph.nodes {
        let needle = format!(" id=\"{}\"", node.id);
        let at = xml.find(&needle).expect("id in the text");
        let tag = xml[..at].rfind('<').expect("tag start");
        let line_start = xml[..tag].rfind('\n').map_or(0, |i| i + 1);
        let expected = Position {
            line: 2,
            column: u32::try_from(xml[line_start..tag].chars().count() + 1).expect("fits"),
        };
        assert_eq!(node.position, expected, "{}", node.id);
    }
}

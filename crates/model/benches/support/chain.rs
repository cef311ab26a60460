//! The long-chain BPMN document of the large-document benchmarks (issue 16,
//! defect 7): a start event, `n` plain tasks and an end event, each joined to
//! the next by a sequence flow — on one line (as a minifier writes it) or one
//! element per line.

/// A chain of `n` tasks; `one_line` puts the whole document on one line.
pub fn chain(n: usize, one_line: bool) -> String {
    let sep = if one_line { "" } else { "\n" };
    let mut s = String::with_capacity(120 * n + 400);
    s.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<definitions \
         xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" id=\"d\" targetNamespace=\"urn:x\">",
    );
    s.push_str("<process id=\"p\" isExecutable=\"true\">");
    s.push_str(sep);
    s.push_str("<startEvent id=\"s\"/>");
    let mut prev = String::from("s");
    for i in 0..n {
        s.push_str(sep);
        s.push_str(&format!(
            "<sequenceFlow id=\"f{i}\" sourceRef=\"{prev}\" targetRef=\"t{i}\"/>{sep}<task id=\"t{i}\" name=\"Task number {i}\"/>"
        ));
        prev = format!("t{i}");
    }
    s.push_str(sep);
    s.push_str(&format!(
        "<sequenceFlow id=\"fe\" sourceRef=\"{prev}\" targetRef=\"e\"/>{sep}<endEvent id=\"e\"/>{sep}</process></definitions>\n"
    ));
    s
}

//! The generated ~1 MB BPMN document shared by the `load` bench and the
//! `load_memory` example.

/// A chain of `n` service tasks with Windlass extensions, conditions and
/// diagram shapes, about 1 MB for n = 2000.
pub fn generated(n: usize) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\"?>\n<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" \
         xmlns:bpmndi=\"http://www.omg.org/spec/BPMN/20100524/DI\" xmlns:dc=\"http://www.omg.org/spec/DD/20100524/DC\" \
         xmlns:windlass=\"urn:windlass:bpmn:1\" id=\"d\">\n<bpmn:process id=\"p\" isExecutable=\"true\">\n<bpmn:startEvent id=\"s\"/>\n",
    );
    let mut prev = "s".to_string();
    for i in 0..n {
        s.push_str(&format!(
            "<bpmn:serviceTask id=\"t{i}\" name=\"Step {i} for {{event.name}}\"><bpmn:documentation>Task number {i} of the generated benchmark process.</bpmn:documentation>\
             <bpmn:extensionElements><windlass:task kind=\"shell\" retries=\"3\" timeout=\"PT5M\"><windlass:setting name=\"command\" value=\"echo {{x}} {i}\"/></windlass:task></bpmn:extensionElements></bpmn:serviceTask>\n\
             <bpmn:sequenceFlow id=\"f{i}\" sourceRef=\"{prev}\" targetRef=\"t{i}\"><bpmn:conditionExpression>x &gt;= {i} &amp;&amp; y != \"z\"</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
        ));
        prev = format!("t{i}");
    }
    s.push_str(&format!("<bpmn:endEvent id=\"e\"/><bpmn:sequenceFlow id=\"fe\" sourceRef=\"{prev}\" targetRef=\"e\"/>\n</bpmn:process>\n<bpmndi:BPMNDiagram id=\"dg\"><bpmndi:BPMNPlane id=\"pl\" bpmnElement=\"p\">\n"));
    for i in 0..n {
        s.push_str(&format!("<bpmndi:BPMNShape id=\"sh{i}\" bpmnElement=\"t{i}\"><dc:Bounds x=\"{i}\" y=\"100\" width=\"100\" height=\"80\"/></bpmndi:BPMNShape>\n"));
    }
    s.push_str("</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n");
    s
}

"""The end every test-model generator shares: a checked opset-17 model from
nodes, inputs, outputs and the initializers the nodes read."""
import onnx
from onnx import helper, numpy_helper


def opset17_model(name, nodes, inputs, outputs, inits):
    """inits: name -> numpy array; those no node reads are left out."""
    used = {i for nd in nodes for i in nd.input}
    graph = helper.make_graph(nodes, name, inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in inits.items() if k in used])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model

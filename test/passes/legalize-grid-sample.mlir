// RUN: %qcc-opt %s --legalize-onnx | FileCheck %s
// GridSample maps to q.grid_sample with ONNX's defaults spelled out; the
// output is [N, C, H_out, W_out] from the grid.

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<1x3x4x5xf32>, %g: tensor<1x6x7x2xf32>) -> (none) {
  // CHECK: "q.grid_sample"(%arg0, %arg1) {align_corners = 0 : i64, mode = "bilinear", padding = "zeros"} : (tensor<1x3x4x5xf32>, tensor<1x6x7x2xf32>) -> tensor<1x3x6x7xf32>
  %y = "onnx.GridSample"(%x, %g) : (tensor<1x3x4x5xf32>, tensor<1x6x7x2xf32>) -> none
  return %y : none
}

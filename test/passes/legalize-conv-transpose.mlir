// RUN: %qcc-opt %s --legalize-onnx --fold-constants --dce | FileCheck %s
// ConvTranspose becomes a stride-1 convolution of the zero-stuffed, padded
// input with the flipped, channel-swapped weight (folded here, as the
// weight is constant). 3x3 input, stride 2, pads 1, output_padding [1, 0]:
// out = 2*(3-1) + 3 - 2 + [1, 0] = [6, 5].

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<1x2x3x3xf32>) -> (none) {
  %w = "q.constant"() {value = dense<1.0> : tensor<2x1x3x3xf32>} : () -> tensor<2x1x3x3xf32>
  %nv = "onnx.NoValue"() : () -> none
  // Stuffing: [1,2,3,1,3,1] padded to [1,2,3,2,3,2], i.e. one zero after each element.
  // CHECK: %[[R:.*]] = "q.reshape"(%arg0) : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x1x3x1xf32>
  // CHECK: %[[S:.*]] = "q.pad"(%[[R]]) {mode = "constant", pads = array<i64: 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1>{{.*}} -> tensor<1x2x3x2x3x2xf32>
  // CHECK: %[[F:.*]] = "q.reshape"(%[[S]]) : (tensor<1x2x3x2x3x2xf32>) -> tensor<1x2x6x6xf32>
  // Border: k-1-pad = 1 before; 1 + output_padding - (stride-1) after.
  // CHECK: %[[P:.*]] = "q.pad"(%[[F]]) {mode = "constant", pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 0>{{.*}} -> tensor<1x2x8x7xf32>
  // CHECK: %[[W:.*]] = "q.constant"() {value = dense<1.000000e+00> : tensor<2x1x3x3xf32>}
  // CHECK: "q.conv"(%[[P]], %[[W]]) {dilations = array<i64: 1, 1>, group = 2 : i64, {{.*}}strides = array<i64: 1, 1>} : (tensor<1x2x8x7xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x6x5xf32>
  %y = "onnx.ConvTranspose"(%x, %w, %nv) {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, output_padding = array<i64: 1, 0>, group = 2 : i64} : (tensor<1x2x3x3xf32>, tensor<2x1x3x3xf32>, none) -> none
  return %y : none
}

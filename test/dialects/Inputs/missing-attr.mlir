func.func @main(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = "q.transpose"(%x) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

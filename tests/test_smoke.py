import minigrad as mg


def test_linear_sigmoid_mean_backward_matches_hand_derivation():
    x = mg.tensor([[1.0, 2.0]])
    w = mg.tensor([[0.5], [-0.25]], requires_grad=True)
    loss = (x @ w).sigmoid().mean()
    loss.backward()
    s = loss.item()  # one example: loss = s = sigmoid(x @ w)
    expected = [[s * (1 - s) * 1.0], [s * (1 - s) * 2.0]]
    assert w.grad.tolist() == expected

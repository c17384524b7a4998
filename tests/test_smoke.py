import minigrad as mg


def test_linear_sigmoid_mean_backward_matches_hand_derivation():
    x = mg.tensor([[1.0, 2.0]])
    w = mg.tensor([[0.5], [-0.25]], requires_grad=True)
    loss = (x @ w).sigmoid().mean()
    loss.backward()
    s = loss.item()  # one example: loss = s = sigmoid(x @ w)
    expected = [[s * (1 - s) * 1.0], [s * (1 - s) * 2.0]]
    assert w.grad.tolist() == expected


def test_no_grad_works_bare_as_a_decorator_as_in_torch():
    w = mg.tensor([1.0], requires_grad=True)

    @mg.no_grad
    def bare(x):
        return x * 2

    @mg.no_grad()
    def called(x):
        return x * 2

    assert not bare(w).requires_grad and not called(w).requires_grad
    assert bare.__name__ == "bare"
    assert (w * 2).requires_grad  # grad mode is back on afterwards


def test_explain_is_a_function_at_the_top_level_and_the_module_still_imports():
    from minigrad.explain import explain_graph  # the module's other names stay reachable

    w = mg.tensor([2.0], requires_grad=True)
    loss = (w * w).sum()
    code = mg.explain(loss)
    assert "d_" in code and callable(explain_graph)
    assert mg.viz.to_dot(loss).startswith("digraph")

"""Simulated submissions for 06_simple_mnist."""
from autograder.simulated_class import Case

FORWARD_CELLS = {"simple_mnist_forward", "simple_mnist_images", "simple_mnist_relu", "simple_mnist_logits",
                 "simple_mnist_device"}
# A model without the specified parameters (missing or transposed) cannot run any cell that checks
# the formula on known parameter values: all of them are lost, the bad-input and device cells kept.
STRUCTURE_CELLS = {"simple_mnist_parameters", "simple_mnist_forward", "simple_mnist_images", "simple_mnist_relu",
                   "simple_mnist_logits"}
FIT_CELLS = {"fit_losses", "fit_batches", "fit_zero_grad", "fit_optimizer", "fit_device", "fit_bad_input",
             "fit_mnist"}


def simple_mnist(forward_body: str, init_body: str | None = None) -> str:
    """A SimpleMnist answer cell with our __init__ (or another) and the given forward body."""
    init_body = init_body or '''
        self.l1_w = get_weights(784, 256)
        self.l1_b = get_weights(256)
        self.l2_w = get_weights(256, 10)
        self.l2_b = get_weights(10)'''
    return f'''
class SimpleMnist(nn.Module):
    def __init__(self):
        super().__init__(){init_body}

    def forward(self, x):
        if x.dim() == 3 and tuple(x.shape[1:]) == (28, 28):
            x = x.reshape(x.shape[0], 784)
        if x.dim() != 2 or x.shape[1] != 784:
            raise ValueError(f"expected (N, 784) or (N, 28, 28), got {{tuple(x.shape)}}")
{forward_body}
'''


def fit_with(batch_part: str, *, optimiser="torch.optim.Adam(model.parameters(), lr=lr)", check=True,
             order="torch.randperm(len(x))", record="total += loss.item()\n            batches += 1",
             result="losses.append(total / batches)", to_device="x[idx].to(device), y[idx].to(device)") -> str:
    """Our fit with one part changed: a typical mistake is one line."""
    check_lines = '''    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)} labels")
''' if check else ""
    return f'''
def fit(model, x, y, epochs=1, lr=1e-3, batch_size=64):
{check_lines}    device = next(model.parameters()).device
    opt = {optimiser}
    losses = []
    for epoch in range(epochs):
        order = {order}
        total, batches = 0.0, 0
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = {to_device}
            loss = F.cross_entropy(model(xb), yb)
{batch_part}
            {record}
        {result}
    return losses
'''


STEP = '''            opt.zero_grad()
            loss.backward()
            opt.step()'''

CASES = [
    Case("solution", "our solution", full=True, kind="solution"),
    Case("blank", "the released notebook, untouched", blank=True, zero=True, kind="blank"),

    # ---- correct, written differently: full marks
    Case("variant_clamp_mm", "ReLU by clamp_min, torch.mm, view to flatten; fit over torch.split of a "
         "permutation with a sample-weighted mean; predict under inference_mode", kind="variant", full=True,
         answers={
             "get_device_answer": '''
def get_device():
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
''',
             "get_weights_answer": '''
def get_weights(*dims):
    fan_in = dims[0]
    return nn.Parameter(torch.randn(dims).div(fan_in), requires_grad=True)
''',
             "simple_mnist_answer": '''
class SimpleMnist(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1_w, self.l1_b = get_weights(784, 256), get_weights(256)
        self.l2_w, self.l2_b = get_weights(256, 10), get_weights(10)

    def forward(self, x):
        if x.shape[1:].numel() != 784 or x.dim() not in (2, 3):
            raise ValueError("SimpleMnist needs (N, 784) or (N, 28, 28) input, not " + str(list(x.shape)))
        x = x.view(x.shape[0], -1)
        hidden = torch.mm(x, self.l1_w) + self.l1_b
        return torch.mm(hidden.clamp_min(0), self.l2_w) + self.l2_b
''',
             "fit_answer": '''
def fit(model, x, y, epochs=1, lr=1e-3, batch_size=64):
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{x.shape[0]} images but {y.shape[0]} labels")
    device = next(iter(model.parameters())).device
    optimiser = torch.optim.Adam(model.parameters(), lr)
    history = []
    for _ in range(epochs):
        seen, summed = 0, 0.0
        for idx in torch.split(torch.randperm(x.shape[0]), batch_size):
            logits = model(x[idx].to(device))
            loss = F.cross_entropy(logits, y[idx].to(device))
            loss.backward()
            optimiser.step()
            optimiser.zero_grad()
            summed += loss.item() * len(idx)
            seen += len(idx)
        history.append(summed / seen)
    return history
''',
             "predict_answer": '''
def predict(model, x):
    device = next(model.parameters()).device
    with torch.inference_mode():
        logits = model(x.to(device))
    return logits.argmax(-1)
'''}),
    Case("variant_where_dataloader", "ReLU by torch.where, DataLoader batches, model.zero_grad, predict by "
         "max(...).indices, returned on the CPU", kind="variant", full=True, answers={
             "get_weights_answer": '''
def get_weights(*dims):
    w = torch.randn(*dims)
    w /= dims[0]
    return nn.Parameter(w)
''',
             "simple_mnist_answer": simple_mnist('''
        pre = x @ self.l1_w + self.l1_b
        hidden = torch.where(pre > 0, pre, torch.zeros_like(pre))
        return hidden @ self.l2_w + self.l2_b'''),
             "fit_answer": '''
from torch.utils.data import DataLoader, TensorDataset

def fit(model, x, y, epochs=1, lr=1e-3, batch_size=64):
    if len(x) != len(y):
        raise ValueError("fit: x and y must have the same length, got %d and %d" % (len(x), len(y)))
    device = next(model.parameters()).device
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    means = []
    for epoch in range(epochs):
        batch_losses = []
        for xb, yb in loader:
            model.zero_grad()
            loss = F.cross_entropy(model(xb.to(device)), yb.to(device))
            loss.backward()
            opt.step()
            batch_losses.append(loss.detach())
        means.append(torch.stack(batch_losses).mean().item())
    return means
''',
             "predict_answer": '''
def predict(model, x):
    with torch.no_grad():
        for p in model.parameters():
            x = x.to(p.device)
            break
        return model(x).max(dim=1).indices.cpu()
'''}),
    Case("variant_maximum_while", "ReLU by torch.maximum with a 0-d zero, a while loop over a generator's "
         "permutation, zero_grad(set_to_none=False), the loss read before backward, predict in chunks", kind="variant", full=True, answers={
             "simple_mnist_answer": simple_mnist('''
        hidden = torch.maximum(x @ self.l1_w + self.l1_b, torch.tensor(0.0))
        out = hidden @ self.l2_w
        return out + self.l2_b'''),
             "fit_answer": '''
def fit(model, x, y, epochs=1, lr=1e-3, batch_size=64):
    n = len(x)
    if n != len(y):
        raise ValueError(f"fit expects as many labels as images: {n} images, {len(y)} labels")
    device = next(model.parameters()).device
    opt = torch.optim.Adam(params=list(model.parameters()), lr=lr)
    result = []
    for epoch in range(epochs):
        perm = torch.randperm(n)
        i, losses = 0, []
        while i < n:
            batch = perm[i:i + batch_size]
            i += batch_size
            opt.zero_grad(set_to_none=False)
            out = model(x[batch].to(device))
            loss = F.cross_entropy(out, y[batch].to(device))
            losses.append(float(loss))
            loss.backward()
            opt.step()
        result.append(sum(losses) / len(losses))
    return result
''',
             "predict_answer": '''
@torch.no_grad()
def predict(model, x):
    device = next(model.parameters()).device
    chunks = [model(part.to(device)).argmax(dim=1) for part in x.split(1000)]
    return torch.cat(chunks)
'''}),
    Case("variant_split_inference", "cuda:0, torch.randn of a tuple, masked_fill for the ReLU and matmul(...).add, "
         "batches from randperm(...).split, losses averaged as tensors, predict under inference_mode",
         kind="variant", full=True, answers={
             "get_device_answer": '''
def get_device():
    if torch.cuda.is_available():
        return torch.device("cuda:0")
    return torch.device("cpu")
''',
             "get_weights_answer": '''
def get_weights(*dims):
    w = torch.randn(dims) / dims[0]
    return nn.Parameter(w, requires_grad=True)
''',
             "simple_mnist_answer": simple_mnist('''
        h = torch.matmul(x, self.l1_w).add(self.l1_b)
        h = h.masked_fill(h < 0, 0.0)
        return torch.matmul(h, self.l2_w).add(self.l2_b)'''),
             "fit_answer": '''
def fit(model, x, y, epochs=1, lr=1e-3, batch_size=64):
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"fit: {x.shape[0]} examples but {y.shape[0]} labels")
    device = next(iter(model.parameters())).device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        batch_losses = []
        for idx in torch.randperm(len(x)).split(batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.detach())
        history.append(torch.stack(batch_losses).mean().item())
    return history
''',
             "predict_answer": '''
def predict(model, x):
    device = next(model.parameters()).device
    with torch.inference_mode():
        return model(x.to(device)).max(dim=1).indices
'''}),
    Case("variant_device_count", "get_device asking torch.cuda.device_count too, get_weights by div",
         kind="variant", full=True, answers={
             "get_device_answer": '''
def get_device():
    has_gpu = torch.cuda.is_available() and torch.cuda.device_count() > 0
    return torch.device("cuda") if has_gpu else torch.device("cpu")
''',
             "get_weights_answer": '''
def get_weights(*dims):
    fan_in = dims[0]
    return nn.Parameter(torch.randn(*dims).div(fan_in))
'''}),
    Case("variant_device_by_index", "get_device as torch.device('cuda', 0), imported by name in the answer cell",
         kind="variant", full=True, answers={
             "get_device_answer": '''
from torch import cuda
def get_device():
    return torch.device("cuda", 0) if cuda.is_available() else torch.device("cpu")
'''}),

    # ---- typical mistakes: each loses the cell of the property it breaks
    Case("weights_not_scaled", "get_weights forgets to divide by the fan-in", answers={"get_weights_answer": '''
def get_weights(*dims):
    return nn.Parameter(torch.randn(*dims))
'''}, breaks="get_weights.scale"),
    Case("weights_sqrt_fan_in", "get_weights divides by sqrt(fan_in)", answers={"get_weights_answer": '''
def get_weights(*dims):
    return nn.Parameter(torch.randn(*dims) / dims[0] ** 0.5)
'''}, fails={"get_weights_scale"}),
    Case("weights_fan_out", "get_weights divides by the last size instead of the fan-in", answers={"get_weights_answer": '''
def get_weights(*dims):
    return nn.Parameter(torch.randn(*dims) / dims[-1])
'''}, fails={"get_weights_scale"}),
    Case("plain_tensor", "get_weights returns a plain tensor, not an nn.Parameter", answers={"get_weights_answer": '''
def get_weights(*dims):
    return (torch.randn(*dims) / dims[0]).requires_grad_()
'''}, breaks="get_weights.parameter", fails={"simple_mnist_parameters", "simple_mnist_device"}),
    Case("no_relu", "SimpleMnist without the ReLU", answers={"simple_mnist_answer": simple_mnist('''
        return (x @ self.l1_w + self.l1_b) @ self.l2_w + self.l2_b''')}, breaks="SimpleMnist.relu"),
    Case("relu_on_output", "SimpleMnist puts a ReLU on the output too", answers={"simple_mnist_answer": simple_mnist('''
        h = x @ self.l1_w + self.l1_b
        h = h * (h > 0)
        out = h @ self.l2_w + self.l2_b
        return out * (out > 0)''')}, breaks="SimpleMnist.logits"),
    Case("no_bias", "SimpleMnist without biases", answers={"simple_mnist_answer": simple_mnist('''
        h = x @ self.l1_w
        return (h * (h > 0)) @ self.l2_w''', init_body='''
        self.l1_w = get_weights(784, 256)
        self.l2_w = get_weights(256, 10)''')}, fails=STRUCTURE_CELLS),
    Case("no_flatten", "forward does not flatten 28 x 28 images", answers={"simple_mnist_answer": '''
class SimpleMnist(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1_w = get_weights(784, 256)
        self.l1_b = get_weights(256)
        self.l2_w = get_weights(256, 10)
        self.l2_b = get_weights(10)

    def forward(self, x):
        h = x @ self.l1_w + self.l1_b
        h = h * (h > 0)
        return h @ self.l2_w + self.l2_b
'''}, fails={"simple_mnist_images", "simple_mnist_bad_input"}),
    Case("transposed_weights", "weights stored (out, in) like nn.Linear", answers={"simple_mnist_answer": simple_mnist('''
        h = x @ self.l1_w.T + self.l1_b
        h = h * (h > 0)
        return h @ self.l2_w.T + self.l2_b''', init_body='''
        self.l1_w = get_weights(256, 784)
        self.l1_b = get_weights(256)
        self.l2_w = get_weights(10, 256)
        self.l2_b = get_weights(10)''')}, breaks="SimpleMnist.parameters"),
    Case("cpu_tensor_in_forward", "forward builds its ReLU with a zeros tensor made on the CPU",
         answers={"simple_mnist_answer": simple_mnist('''
        h = x @ self.l1_w + self.l1_b
        h = torch.maximum(h, torch.zeros(h.shape))
        return h @ self.l2_w + self.l2_b''')}, breaks="SimpleMnist.device"),
    Case("device_hard_coded_cpu", "get_device always returns the CPU", answers={"get_device_answer": '''
def get_device():
    return torch.device("cpu")
'''}, breaks="get_device.cuda"),
    Case("device_as_string", "get_device returns a string", answers={"get_device_answer": '''
def get_device():
    return "cuda" if torch.cuda.is_available() else "cpu"
'''}, breaks="get_device.torch_device"),
    Case("fit_on_cpu", "fit moves each batch to the CPU instead of the model's device",
         answers={"fit_answer": fit_with(STEP, to_device="x[idx].to('cpu'), y[idx].to('cpu')")},
         breaks="fit.device"),
    Case("fit_labels_left_behind", "fit moves the images but not the labels to the model's device",
         answers={"fit_answer": fit_with(STEP, to_device="x[idx].to(device), y[idx]")}, fails={"fit_device"}),
    Case("predict_on_cpu", "predict computes on the CPU whatever the model's device", answers={"predict_answer": '''
def predict(model, x):
    with torch.no_grad():
        return model(x.cpu()).argmax(dim=1)
'''}, breaks="predict.device"),
    Case("predict_logits", "predict returns the logits", answers={"predict_answer": '''
def predict(model, x):
    device = next(model.parameters()).device
    with torch.no_grad():
        return model(x.to(device))
'''}, breaks="predict.indices"),
    Case("predict_probabilities", "predict returns the highest probability, not its index", answers={"predict_answer": '''
def predict(model, x):
    device = next(model.parameters()).device
    with torch.no_grad():
        return model(x.to(device)).softmax(dim=1).max(dim=1).values
'''}, fails={"predict_indices"}),
    Case("predict_tracks_gradients", "predict without torch.no_grad", answers={"predict_answer": '''
def predict(model, x):
    device = next(model.parameters()).device
    return model(x.to(device)).argmax(dim=1)
'''}, breaks="predict.no_grad"),
    Case("grads_never_zeroed", "fit never zeroes the gradients",
         answers={"fit_answer": fit_with("            loss.backward()\n            opt.step()")},
         breaks="fit.zero_grad"),
    Case("losses_per_batch", "fit returns the loss of every batch", answers={"fit_answer": fit_with(
        STEP, record="losses.append(loss.item())", result="pass")}, fails={"fit_losses"}),
    Case("losses_summed", "fit returns the sum of each epoch's batch losses, not their mean",
         answers={"fit_answer": fit_with(STEP, result="losses.append(total)")}, breaks="fit.losses"),
    Case("last_batch_loss", "fit returns the last batch's loss of each epoch",
         answers={"fit_answer": fit_with(STEP, result="losses.append(loss.item())")}, fails={"fit_losses"}),
    Case("new_adam_each_step", "fit creates a new Adam optimiser for every batch: its running averages restart "
         "at every step", answers={"fit_answer": fit_with(
             "            opt = torch.optim.Adam(model.parameters(), lr=lr)\n" + STEP)}, fails={"fit_optimizer"}),
    Case("new_adam_each_epoch", "fit creates a new Adam optimiser at the start of every epoch",
         answers={"fit_answer": fit_with(STEP, order="torch.randperm(len(x))\n        opt = torch.optim.Adam(model.parameters(), lr=lr)")},
         fails={"fit_optimizer"}),
    Case("no_shuffle", "fit takes the examples in their original order",
         answers={"fit_answer": fit_with(STEP, order="torch.arange(len(x))")}, breaks="fit.batches"),
    Case("shuffled_once", "fit shuffles once, before the first epoch", answers={"fit_answer": '''
def fit(model, x, y, epochs=1, lr=1e-3, batch_size=64):
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)} labels")
    device = next(model.parameters()).device
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.randperm(len(x))
    losses = []
    for epoch in range(epochs):
        total, batches = 0.0, 0
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            batches += 1
        losses.append(total / batches)
    return losses
'''}, fails={"fit_batches"}),
    Case("batch_size_ignored", "fit always uses batches of 64", answers={"fit_answer": fit_with(
        STEP, order="torch.randperm(len(x)); batch_size = 64")}, fails={"fit_batches"}),
    Case("lr_ignored", "fit leaves Adam at its default learning rate",
         answers={"fit_answer": fit_with(STEP, optimiser="torch.optim.Adam(model.parameters())")},
         fails={"fit_optimizer"}),
    Case("sgd", "fit uses plain SGD", answers={"fit_answer": fit_with(
        STEP, optimiser="torch.optim.SGD(model.parameters(), lr=lr)")}, breaks="fit.optimizer"),
    Case("fit_drops_last_batch", "fit drops each epoch's last, smaller batch (as DataLoader(drop_last=True) would): "
         "some examples are never trained on", breaks="fit.batches", answers={"fit_answer": fit_with(STEP).replace(
             "range(0, len(x), batch_size)", "range(0, len(x) - batch_size + 1, batch_size)")}),
    Case("fit_default_batch_size_32", "fit's batch_size defaults to 32, not the 64 of its signature",
         answers={"fit_answer": fit_with(STEP).replace("batch_size=64):", "batch_size=32):")},
         fails={"fit_batches"}, rest_full=True),
    Case("fit_other_defaults", "fit's signature with other defaults: epochs=2, lr=3e-3, batch_size=32",
         answers={"fit_answer": fit_with(STEP).replace("epochs=1, lr=1e-3, batch_size=64",
                                                        "epochs=2, lr=3e-3, batch_size=32")},
         breaks="fit.signature"),
    Case("fit_default_lr_3e-3", "fit's lr defaults to 3e-3, not the 1e-3 of its signature",
         answers={"fit_answer": fit_with(STEP).replace("lr=1e-3,", "lr=3e-3,")},
         fails={"fit_optimizer"}, rest_full=True),
    Case("fit_no_length_check", "fit does not check that x and y have the same length",
         answers={"fit_answer": fit_with(STEP, check=False)}, breaks="fit.errors"),
    Case("fit_modifies_x", "fit normalises x in place", answers={"fit_answer": fit_with(
        STEP, order="torch.randperm(len(x)); x -= x.mean() if epoch == 0 else 0")}, breaks="fit.pure"),
    Case("forward_no_value_error", "forward lets a wrong shape fail inside the matrix product",
         answers={"simple_mnist_answer": '''
class SimpleMnist(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1_w = get_weights(784, 256)
        self.l1_b = get_weights(256)
        self.l2_w = get_weights(256, 10)
        self.l2_b = get_weights(10)

    def forward(self, x):
        x = x.reshape(len(x), -1)
        h = x @ self.l1_w + self.l1_b
        return (h * (h > 0)) @ self.l2_w + self.l2_b
'''}, breaks="SimpleMnist.errors"),

    # ---- one stated rule broken each (issue 24): each loses that rule's cells only
    Case("device_always_cuda", "get_device always returns the GPU", breaks="get_device.cpu",
         answers={"get_device_answer": '''
def get_device():
    return torch.device("cuda")
'''}),
    Case("device_decided_once", "get_device answers what torch.cuda.is_available() said when the cell ran, "
         "not at each call", breaks="get_device.each_call", answers={"get_device_answer": '''
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

def get_device():
    return DEVICE
'''}),
    Case("weights_two_sizes_at_most", "get_weights keeps the first two sizes only (weights are matrices)",
         breaks="get_weights.shape", answers={"get_weights_answer": '''
def get_weights(*dims):
    return nn.Parameter(torch.randn(*dims[:2]) / dims[0])
'''}),
    Case("flatten_by_columns", "forward flattens each 28 x 28 image column by column", breaks="SimpleMnist.flatten",
         answers={"simple_mnist_answer": '''
class SimpleMnist(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1_w = get_weights(784, 256)
        self.l1_b = get_weights(256)
        self.l2_w = get_weights(256, 10)
        self.l2_b = get_weights(10)

    def forward(self, x):
        if x.dim() == 3 and tuple(x.shape[1:]) == (28, 28):
            x = x.transpose(1, 2).reshape(x.shape[0], 784)
        if x.dim() != 2 or x.shape[1] != 784:
            raise ValueError(f"expected (N, 784) or (N, 28, 28), got {tuple(x.shape)}")
        h = x @ self.l1_w + self.l1_b
        return (h * (h > 0)) @ self.l2_w + self.l2_b
'''}),
    Case("bias_after_relu", "forward adds the first bias after the ReLU", breaks="SimpleMnist.forward",
         answers={"simple_mnist_answer": simple_mnist('''
        h = x @ self.l1_w
        h = h * (h > 0) + self.l1_b
        return h @ self.l2_w + self.l2_b''')}),
    Case("fit_returns_tensors", "fit returns each epoch's mean loss as a 0-d tensor, not a python float",
         breaks="fit.dtype", answers={"fit_answer": fit_with(STEP, record="total += loss.detach()\n            batches += 1")}),
    Case("zero_grad_before_step", "fit zeroes the gradients between backward and step: every step has no "
         "gradient to follow, and the network never learns", breaks="fit.learns",
         answers={"fit_answer": fit_with('''            loss.backward()
            opt.zero_grad()
            opt.step()''')}),
    Case("predict_float_indices", "predict returns the class indices as floats", breaks="predict.dtype",
         answers={"predict_answer": '''
def predict(model, x):
    device = next(model.parameters()).device
    with torch.no_grad():
        return model(x.to(device)).argmax(dim=1).float()
'''}),

    # ---- built-ins not allowed in forward: refused, whatever the result
    Case("uses_f_linear", "forward uses torch.nn.functional.linear", answers={"simple_mnist_answer": simple_mnist('''
        h = F.linear(x, self.l1_w.T, self.l1_b)
        h = h * (h > 0)
        return F.linear(h, self.l2_w.T, self.l2_b)''')}, fails=FORWARD_CELLS),
    Case("uses_nn_linear", "forward runs nn.Linear layers loaded with the parameters",
         answers={"simple_mnist_answer": simple_mnist('''
        layer1, layer2 = nn.Linear(784, 256, device=x.device), nn.Linear(256, 10, device=x.device)
        with torch.no_grad():
            layer1.weight.copy_(self.l1_w.T)
            layer1.bias.copy_(self.l1_b)
            layer2.weight.copy_(self.l2_w.T)
            layer2.bias.copy_(self.l2_b)
        h = layer1(x)
        return layer2(h * (h > 0))''')}, fails=FORWARD_CELLS),
    Case("uses_torch_relu", "forward uses torch.relu", answers={"simple_mnist_answer": simple_mnist('''
        return torch.relu(x @ self.l1_w + self.l1_b) @ self.l2_w + self.l2_b''')}, fails=FORWARD_CELLS,
         breaks="SimpleMnist.not_allowed"),
    Case("uses_relu_method", "forward uses the tensor method .relu()", answers={"simple_mnist_answer": simple_mnist('''
        return (x @ self.l1_w + self.l1_b).relu() @ self.l2_w + self.l2_b''')}, fails=FORWARD_CELLS),
    Case("uses_f_relu", "forward uses torch.nn.functional.relu", answers={"simple_mnist_answer": simple_mnist('''
        return F.relu(x @ self.l1_w + self.l1_b) @ self.l2_w + self.l2_b''')}, fails=FORWARD_CELLS),
    Case("uses_nn_relu", "forward uses an nn.ReLU module", answers={"simple_mnist_answer": simple_mnist('''
        return nn.ReLU()(x @ self.l1_w + self.l1_b) @ self.l2_w + self.l2_b''')}, fails=FORWARD_CELLS),

    # ---- attacks and accidents: they cost that exercise's points and nothing else
    Case("fit_never_returns", "fit loops forever; the rest is correct", kind="attack", fails=FIT_CELLS,
         rest_full=True,
         answers={"fit_answer": '''
def fit(model, x, y, epochs=1, lr=1e-3, batch_size=64):
    while True:
        pass
'''}),
]

# A built-in the exercise does not allow works in the student's own kernel, so no check cell
# can catch it; the notebook says, next to the exercise, that the grader refuses it.
for _case in CASES:
    if _case.kind == "mistake" and "uses_" in _case.name:
        _case.hidden_only = "the grader refuses them"

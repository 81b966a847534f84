// src/core/autograd.cpp — the tape: recording, the backward walk, and saved-tensor checks.
#include <unordered_map>
#include <unordered_set>

#include "csg/autograd.h"
#include "csg/ops.h"
#include "src/core/dispatch.h"

namespace csg {

namespace {
thread_local bool g_grad_mode = true;
thread_local std::function<void(const Tensor&)>* g_leaf_hook = nullptr;
}

LeafGradientHook::LeafGradientHook(std::function<void(const Tensor&)> fn) {
  CSG_CHECK(g_leaf_hook == nullptr, "LeafGradientHook: one is already installed on this thread");
  g_leaf_hook = new std::function<void(const Tensor&)>(std::move(fn));
}
LeafGradientHook::~LeafGradientHook() {
  delete g_leaf_hook;
  g_leaf_hook = nullptr;
}

bool grad_mode_enabled() { return g_grad_mode; }
NoGradGuard::NoGradGuard() : prev_(g_grad_mode) { g_grad_mode = false; }
NoGradGuard::~NoGradGuard() { g_grad_mode = prev_; }

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_mode) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(const char* op, Tensor out, std::vector<Tensor> inputs, BackwardFn fn) {
  if (!any_requires_grad(inputs)) return out;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->inputs = std::move(inputs);
  node->backward = std::move(fn);
  node->out_shape = out.shape();
  node->out_dtype = out.dtype();
  node->out_device = out.device();
  // `out` may share its impl with a tensor the caller still holds (ops that return an input
  // unchanged never call record), so give the result its own impl carrying the node.
  Tensor result = out.detach();
  result.impl().grad_fn = std::move(node);
  return result;
}

Saved::Saved(const Tensor& t) : t_(t.defined() ? t.detach() : Tensor()), version_(t.defined() ? t.storage().version() : 0) {}

Tensor Saved::get(const char* op) const {
  if (t_.defined())
    CSG_CHECK(t_.storage().version() == version_, op, ": backward needs ", t_.describe(),
              ", which was modified in place after the forward pass (version ", t_.storage().version(),
              ", saved at ", version_, "); clone() it before writing to it");
  return t_;
}

namespace {

// Nodes reachable from `root`, each after every node that consumes its output (reverse
// topological order), found with an explicit stack so deep networks cannot overflow it.
// Returns owning pointers: freeing a node's inputs during the walk must not free nodes
// still to be visited.
std::vector<std::shared_ptr<Node>> order_nodes(const std::shared_ptr<Node>& root_ptr) {
  Node* root = root_ptr.get();
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_map<Node*, std::shared_ptr<Node>> owner{{root, root_ptr}};
  std::unordered_set<Node*> done;
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  std::unordered_set<Node*> on_stack{root};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const Tensor& in = node->inputs[next++];
      Node* child = in.defined() ? in.grad_fn().get() : nullptr;
      if (child && !done.count(child) && !on_stack.count(child)) {
        owner[child] = in.grad_fn();
        stack.push_back({child, 0});
        on_stack.insert(child);
      }
    } else {
      done.insert(node);
      on_stack.erase(node);
      order.push_back(owner[node]);
      stack.pop_back();
    }
  }
  std::reverse(order.begin(), order.end());  // root first
  return order;
}

// True when nothing but `t` can reach its elements: no other handle on its impl or storage
// (an op's output, a saved tensor or a view would hold one) and it covers its whole storage.
// Such a tensor can become a gradient, or be added to in place, without anyone seeing it.
bool sole_owner(const Tensor& t) {
  const auto& impl = t.impl_ptr();
  return impl.use_count() == 1 && impl->storage.use_count() == 1 && impl->offset == 0 && t.is_contiguous() &&
         impl->storage->nbytes() == static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
}

// slot += g, in place when slot is private to the backward pass (saves an allocation per
// gradient that meets another, e.g. at every residual connection).
void accumulate(Tensor& slot, Tensor g) {
  if (!slot.defined()) {
    slot = std::move(g);
  } else if (sole_owner(slot)) {
    slot.add_(g);
  } else {
    slot = add(slot, g);
  }
}

// leaf.grad += g. The stored gradient never aliases a tensor anyone else holds: g becomes it
// only when private (else it is copied), and it is added to in place only while the leaf
// alone holds it (a gradient the caller kept, e.g. `Tensor g1 = w.grad()`, never changes).
// Taking g over spares a copy of every parameter's gradient on each step (zero_grad drops them).
void accumulate_into_leaf(const Tensor& leaf, Tensor g) {
  std::shared_ptr<TensorImpl>& slot = leaf.impl().grad;
  Tensor cur = slot ? Tensor(std::move(slot)) : Tensor();  // moved out: the leaf no longer counts as a holder
  if (!cur.defined() && !sole_owner(g)) g = g.clone();
  accumulate(cur, std::move(g));
  slot = cur.impl_ptr();
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_in, bool retain_graph) {
  CSG_CHECK(root.requires_grad(), "backward: ", root.describe(),
            " does not require grad (no input of the computation had requires_grad_())");
  Tensor grad = grad_in;
  if (!grad.defined()) {
    CSG_CHECK(root.numel() == 1, "backward: ", root.describe(),
              " is not a scalar; pass a gradient of the same shape to backward(grad)");
    grad = ones(root.shape(), root.options());
  }
  CSG_CHECK(grad.shape() == root.shape() && grad.device() == root.device(), "backward: gradient ",
            grad.describe(), " does not match ", root.describe());
  NoGradGuard no_grad;  // backward closures never record
  if (root.is_leaf()) {
    accumulate_into_leaf(root, grad);
    return;
  }
  std::vector<std::shared_ptr<Node>> order = order_nodes(root.grad_fn());
  // For LeafGradientHook: how many nodes still to be walked feed each leaf.
  std::unordered_map<const TensorImpl*, int> leaf_feeds;
  if (g_leaf_hook)
    for (const std::shared_ptr<Node>& n : order)
      for (const Tensor& in : n->inputs)
        if (in.defined() && !in.grad_fn() && in.requires_grad()) ++leaf_feeds[&in.impl()];
  auto node_done = [&](const std::vector<Tensor>& inputs) {
    if (!g_leaf_hook) return;
    for (const Tensor& in : inputs)
      if (in.defined() && !in.grad_fn() && in.requires_grad() && --leaf_feeds[&in.impl()] == 0 && in.grad().defined())
        (*g_leaf_hook)(in);
  };
  std::unordered_map<Node*, Tensor> grads;
  grads[root.grad_fn().get()] = grad;
  for (const std::shared_ptr<Node>& owned : order) {
    Node* node = owned.get();
    auto it = grads.find(node);
    if (it == grads.end()) {  // no gradient reached this node
      node_done(node->inputs);
      continue;
    }
    Tensor g = std::move(it->second);
    grads.erase(it);
    CSG_CHECK(node->backward, "backward through ", node->op,
              " a second time: its saved tensors were freed; pass retain_graph=true to the first backward()");
    std::vector<Tensor> in_grads = node->backward(g);
    CSG_CHECK(in_grads.size() == node->inputs.size(), node->op, " backward returned ", in_grads.size(),
              " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < in_grads.size(); ++i) {
      const Tensor& in = node->inputs[i];
      Tensor gi = std::move(in_grads[i]);  // ours alone now, unless the backward shared it
      if (!gi.defined() || !in.defined() || !in.requires_grad()) continue;
      CSG_CHECK(gi.shape() == in.shape() && gi.device() == in.device() && gi.dtype() == in.dtype(), node->op,
                " backward produced gradient ", gi.describe(), " for input ", i, " ", in.describe());
      if (in.grad_fn())
        accumulate(grads[in.grad_fn().get()], std::move(gi));
      else
        accumulate_into_leaf(in, std::move(gi));
    }
    node_done(node->inputs);
    if (!retain_graph) {
      node->backward = nullptr;
      node->inputs.clear();
    }
  }
}

}  // namespace csg

//! Strongly connected components of the file import graph (Tarjan), and its depth.

/// The strongly connected components of the graph given as adjacency lists, each component
/// after every component it reaches (the order Tarjan's algorithm finds them in).
pub(crate) fn sccs(adjacent: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct Tarjan<'a> {
        adjacent: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        found: Vec<Vec<usize>>,
    }

    fn visit(t: &mut Tarjan<'_>, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on_stack[v] = true;
        for &w in &t.adjacent[v] {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(index) if t.on_stack[w] => t.low[v] = t.low[v].min(index),
                Some(_) => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut component = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            t.found.push(component);
        }
    }

    let n = adjacent.len();
    let mut t = Tarjan {
        adjacent,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.found
}

/// The longest import chain, counting a component as one level: the components along it,
/// importing one first. `components` must be in the order [`sccs`] returns them.
pub(crate) fn longest_chain(adjacent: &[Vec<usize>], components: &[Vec<usize>]) -> Vec<usize> {
    let mut component_of = vec![0; adjacent.len()];
    for (c, files) in components.iter().enumerate() {
        files.iter().for_each(|&v| component_of[v] = c);
    }
    // Every component a component reaches comes before it, so one pass settles the levels.
    let mut level = vec![1; components.len()];
    let mut below: Vec<Option<usize>> = vec![None; components.len()];
    for (c, files) in components.iter().enumerate() {
        for &w in files.iter().flat_map(|&v| &adjacent[v]) {
            let d = component_of[w];
            if d != c && level[d] + 1 > level[c] {
                level[c] = level[d] + 1;
                below[c] = Some(d);
            }
        }
    }
    let mut chain = Vec::new();
    let mut at = (0..components.len()).max_by_key(|&c| level[c]);
    while let Some(c) = at {
        chain.push(c);
        at = below[c];
    }
    chain
}

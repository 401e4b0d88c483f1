/* por_tree.c: placeholder, written by its slice this session. */
typedef int por_tree_placeholder;

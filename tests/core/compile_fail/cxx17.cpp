// expect: #error.*vmh needs C\+\+20.*-std=c\+\+20
// max-bytes: 400
// std: gnu++17
// g++ 12's default mode: the umbrella header says once what it needs, and nothing else.
#include <vmh/vmh.hpp>

int main() { return 0; }

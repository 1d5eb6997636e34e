import sys, sympy
sys.path.insert(0,'/work/main')
from axiom.ir.dims import *
N,M=sym('N'),sym('M')
f=sympy.floor
cases=[
 (2*f(N/2), N), (f(N/2)+f((N+1)/2), N), (f((N+1)/2), f(N/2)), (f(N/2)+1, f((N+2)/2)),
 (N*M, N), (N*M, N+M), (N*M, N+M-1), (sympy.Max(N,M), N+M), (sympy.Min(N,M), N),
 (f(N/M), N), (f(N/M)*M, N), (f((N-1)/2)+1, f((N+1)/2)), (sympy.Mod(N,2), 1), (sympy.Mod(N,2), 2),
 (N-1, 0), (f(N/2), 0), (f(N/2), 1), (f((N-1)/2), 0), (N**2, N), (N**2, 2*N), (f(N*N/2), N-1),
 (sympy.Max(N,2), N), (sympy.Max(N-1,1), N-1), (f(N/2)-f((N-1)/2), 0), (f(N/2)-f((N-1)/2), 1),
 (f((N+M)/2), f(N/2)+f(M/2)), (f((N+M)/2), f(N/2)+f(M/2)+1),
]
for a,b in cases:
    a=sympy.sympify(a); b=sympy.sympify(b)
    print(a,'|',b, dim_eq(a,b).value, dim_le(a,b).value, dim_lt(a,b).value, end='  ')
    vs=[(a.subs({N:n,M:m}), b.subs({N:n,M:m})) for n in range(1,15) for m in range(1,15)]
    print('truth eq', {x==y for x,y in vs}, 'le', {x<=y for x,y in vs}, 'lt', {x<y for x,y in vs})

#!/usr/bin/env bash
# NUMA test bed (README "NUMA placement"): boots Debian's stock kernel under QEMU (software
# emulation) with 2 and with 4 NUMA nodes, runs `m2mc verify-placement` inside on plans
# compiled here for each placement policy, and checks in the guest that every page of every
# memory domain is on its planned node (move_pages), and that inference and two training
# steps give the same bits as this host running the same plans and code path.
#
#   scripts/numa-vm-test.sh [M2MC_BINARY]     (default: a plain `swift build -c release` of m2mc:
#                                              x86-64 code the emulated CPU runs, 10x faster
#                                              than a debug build under emulation)
#
# Needs qemu-system-x86 (installed with apt-get when missing and running as root), and
# downloads the current linux-image-*-amd64 and busybox-static packages with apt-get download
# (cached in .numa-vm/). Prints `pages on planned node: X/Y` per node count and policy;
# exits 1 when a page is elsewhere, a digest differs from the host's, or a guest fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${1:-}
work="$root/.numa-vm"
mkdir -p "$work"

if ! command -v qemu-system-x86_64 >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "numa-vm-test: qemu-system-x86 is missing (apt-get install qemu-system-x86)" >&2; exit 1; }
    apt-get install -y -qq qemu-system-x86 >/dev/null
fi
if [ -z "$bin" ]; then
    swift build -c release --product m2mc 2>&1 | tail -n 1
    bin=.build/release/m2mc
fi
bin=$(readlink -f "$bin")

# Kernel and busybox from the Debian archive, extracted only (nothing is installed).
if [ ! -f "$work/vmlinuz" ] || [ ! -x "$work/busybox" ]; then
    image=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
    [ -n "$image" ] || { echo "numa-vm-test: cannot find the linux-image package (apt-get update?)" >&2; exit 1; }
    (cd "$work" && rm -f ./*.deb && apt-get download "$image" busybox-static >/dev/null 2>&1)
    dpkg-deb --fsys-tarfile "$work"/linux-image-*.deb | tar -x -C "$work" --wildcards './boot/vmlinuz-*'
    mv "$work"/boot/vmlinuz-* "$work/vmlinuz"
    dpkg-deb --fsys-tarfile "$work"/busybox-static_*.deb | tar -x -C "$work" ./bin/busybox
    mv "$work/bin/busybox" "$work/busybox"
    rm -rf "$work/boot" "$work/bin" "$work"/*.deb
fi

# Portable plans: the guest's emulated CPU (AVX2, FMA, no AVX-512) and this host make the same
# kernel choices (GEMM spectral form, OpenBLAS's Haswell kernels, which m2mc pins itself), so
# the bits can be compared.
policies="local interleave experts replicate"
plans="$work/plans"
rm -rf "$plans" && mkdir -p "$plans"
for nodes in 2 4; do
    for policy in $policies; do
        "$bin" compile configs/tiny-m2m.json -o "$plans/$policy-$nodes.m2m" --fftw estimate --portable \
            --numa "$policy" --topology "${nodes}x1" >/dev/null
        # The host's run of the same plan (folded onto its nodes): the reference digest.
        "$bin" verify-placement "$plans/$policy-$nodes.m2m" --numa-fallback --threads "$nodes" 2>/dev/null \
            | awk '/^digest:/ {print $2}' > "$plans/$policy-$nodes.host"
    done
done

# The initramfs: busybox, the binary with every library ldd lists (same paths), the plans.
build_initramfs() {
    local nodes=$1 dir="$work/root-$nodes"
    rm -rf "$dir" && mkdir -p "$dir"/{bin,proc,sys,dev,tmp,plans}
    cp "$work/busybox" "$dir/bin/busybox"
    for tool in sh mount poweroff echo cat; do ln -s busybox "$dir/bin/$tool"; done
    mkdir -p "$dir$(dirname "$bin")"
    cp "$bin" "$dir$bin"
    ldd "$bin" | awk '/=> \// {print $3} /^\t\// {print $1}' | while read -r lib; do
        mkdir -p "$dir$(dirname "$lib")"
        cp -L "$lib" "$dir$lib"
    done
    # The dynamic loader under both of its names.
    for loader in /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2; do
        [ -e "$loader" ] && { mkdir -p "$dir$(dirname "$loader")"; cp -L "$loader" "$dir$loader"; }
    done
    cp "$plans"/*-"$nodes".m2m "$dir/plans/"
    cat > "$dir/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
for policy in $policies; do
    echo "== guest $nodes nodes \$policy"
    $bin verify-placement /plans/\$policy-$nodes.m2m --threads $nodes 2>&1
    echo "== exit \$?"
done
echo "== guest done"
poweroff -f
EOF
    chmod +x "$dir/init"
    (cd "$dir" && find . | "$work/busybox" cpio -o -H newc 2>/dev/null) > "$work/initramfs-$nodes.cpio"
}

# Software emulation: KVM is decided by the CPU flags, not by /dev/kvm (it hangs without vmx/svm).
accel="tcg,thread=multi"
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then accel=kvm; fi

status=0
for nodes in 2 4; do
    build_initramfs "$nodes"
    numa=()
    for ((i = 0; i < nodes; i++)); do
        numa+=(-object "memory-backend-ram,id=m$i,size=$((2048 / nodes))M" -numa "node,nodeid=$i,cpus=$i,memdev=m$i")
    done
    log="$work/guest-$nodes.log"
    start=$(date +%s)
    timeout 900 qemu-system-x86_64 -accel "$accel" -cpu max -smp "$nodes" -m 2048 "${numa[@]}" \
        -kernel "$work/vmlinuz" -initrd "$work/initramfs-$nodes.cpio" -nographic -no-reboot \
        -append "console=ttyS0 quiet panic=-1 rdinit=/init" > "$log" 2>&1 || true
    tr -d '\r' < "$log" > "$log.txt"
    grep -q "== guest done" "$log.txt" || { echo "numa-vm-test: the $nodes-node guest did not finish (see $log)"; status=1; continue; }
    echo "$nodes-node guest: $(( $(date +%s) - start )) s"
    for policy in $policies; do
        # Console escape sequences may precede a line: match markers anywhere in it.
        section=$(awk -v p="== guest $nodes nodes $policy" 'index($0, p) {on = 1; next} index($0, "== exit") {if (on) {print; exit}} on' "$log.txt")
        pages=$(echo "$section" | awk -F': ' '/^pages on planned node:/ {print $2}')
        digest=$(echo "$section" | awk '/^digest:/ {print $2}')
        host=$(cat "$plans/$policy-$nodes.host")
        same=$([ -n "$digest" ] && [ "$digest" = "$host" ] && echo "same bits as the host" || echo "DIGEST DIFFERS (guest ${digest:-none}, host $host)")
        echo "  $nodes nodes, $policy: pages on planned node: ${pages:-none}; $same"
        if [ -z "$pages" ] || [ "${pages%/*}" != "${pages#*/}" ] || [ "${pages%/*}" = 0 ] || [ "$digest" != "$host" ]; then
            status=1
            echo "$section" | sed 's/^/    guest: /'
        fi
    done
done
[ "$status" = 0 ] && echo "numa-vm-test: passed" || echo "numa-vm-test: FAILED"
exit "$status"

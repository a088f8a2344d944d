from setuptools import find_packages, setup

package_name = "argos_inference"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="ARGOS edge maintainers",
    maintainer_email="maintainers@argos-edge.org",
    description="ARGOS inference node: detection engines behind one interface publishing vision_msgs/Detection2DArray.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "inference_node = argos_inference.node:main",
        ],
    },
)
